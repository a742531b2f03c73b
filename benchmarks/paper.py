"""Reproduce the published experiments 1-8 end to end and print one Markdown table.

For each experiment and seed: train a small ELU classifier with PyTorch, explain its logit
(``neuroninterp_torch.interpret_module``), run the symbolic-classification baseline
(``neuroninterp.classify``) on the same training data with the same time budget, and score
both. The same as ``neuroninterp paper``; the code is in ``neuroninterp/_paper.py``.

    python benchmarks/paper.py --seeds 5                       # everything (about 2.5 min a run)
    python benchmarks/paper.py --experiments 1,7 --seeds 2 --time-budget 30
    python benchmarks/paper.py --quick --experiments 1         # smoke run
"""

import sys

from neuroninterp._paper import main

if __name__ == "__main__":
    sys.exit(main())
