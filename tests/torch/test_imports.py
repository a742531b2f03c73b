"""The adapter's imports: torch is needed (with an install hint when missing),
Lightning only in its submodule, and the core never imports either."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("torch")

import neuroninterp_torch  # noqa: E402


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_without_torch_the_import_says_how_to_install():
    out = run(
        "import sys\n"
        "sys.modules['torch'] = None  # as if torch were not installed\n"
        "try:\n"
        "    import neuroninterp_torch\n"
        "except ImportError as err:\n"
        "    print('ImportError:', err)\n"
    )
    assert "ImportError: neuroninterp_torch needs PyTorch" in out
    assert "pip install 'neuroninterp[torch]'" in out


def test_without_lightning_the_callback_says_how_to_install():
    out = run(
        "import sys\n"
        "sys.modules['lightning'] = None\n"
        "import neuroninterp_torch\n"
        "try:\n"
        "    import neuroninterp_torch.lightning\n"
        "except ImportError as err:\n"
        "    print('ImportError:', err)\n"
    )
    assert "pip install 'neuroninterp[lightning]'" in out


def test_lightning_is_imported_only_by_its_submodule():
    out = run(
        "import sys, neuroninterp, neuroninterp_torch\n"
        "print(sorted(m for m in ('lightning', 'pytorch_lightning') if m in sys.modules))\n"
    )
    assert out.strip() == "[]"


def test_core_does_not_import_torch():
    out = run("import sys, neuroninterp\nprint('torch' in sys.modules)\n")
    assert out.strip() == "False"


def test_public_names():
    for name in neuroninterp_torch.__all__:
        assert getattr(neuroninterp_torch, name) is not None
    assert {"interpret_module", "NeuronProbe", "class_boundary"} <= set(neuroninterp_torch.__all__)
