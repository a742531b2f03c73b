"""Recovery benchmark of the search on exact (or noisy) gradients of the
published experiments 1-6.

For each experiment and seed: 1000 uniform points of the domain, the truth's
exact unit gradients (optionally plus Gaussian noise per component,
renormalized), ``neuroninterp.interpret`` with default operators. The chosen
formula is *equivalent* when, at 2000 fresh uniform points, the signed cosine
between its gradient and the truth's is >= 0.9999 (0.999 with noise) at
>= 99 % of the points, and its ``sympy.count_ops`` is at most 3 above the
truth's.

    python benchmarks/search_recovery.py                       # 6 experiments x 10 seeds
    python benchmarks/search_recovery.py --noise 0.05          # noisy targets
    python benchmarks/search_recovery.py --experiments 1 6 --seeds 3
    python benchmarks/search_recovery.py --other --seeds 2     # formulas from outside the paper

``--other`` runs twenty-one formulas that are not in the paper, from physics, engineering and
statistics. 101-112 use a larger operator set (``OTHER_OPERATORS``); 113-121 need the inverse
trigonometric and hyperbolic functions or erf and run with every operator the package had when
they were written (26, ``OPERATORS_26``). ``--operators`` replaces the set for all of them, e.g.
``--operators all`` (today's 36). The formulas
were chosen after the search was built; the first run of 102 found the Taylor forgery that
the simplifier's accuracy check (``_simplify.TAYLOR_ACCURACY``) now undoes.

    python benchmarks/search_recovery.py --other --seeds 2 --operators all

``--held-out`` (201-220, thirteen PySR-like operators) and ``--fresh`` (301-320, the 26 operators
of the time) are two more sets of twenty, each written down before its first run; the README says what
each first run changed. ``--more`` (401-410, all 36 operators) is ten formulas that need the
operators added after ``--fresh`` (``log10 log2 log1p cbrt erfc gamma sigmoid max min``),
also written down before their first run.

    python benchmarks/search_recovery.py --fresh --seeds 2 --time-budget 30
    python benchmarks/search_recovery.py --more --seeds 2 --time-budget 30

``--unseen`` (501-520, all operators) is twenty more from biology, chemistry, economics and
physics, written down before their first run.

    python benchmarks/search_recovery.py --unseen --seeds 2 --time-budget 30

``--novel`` (601-620, all operators) is twenty more from fields the others left out, written down
before their first run.

    python benchmarks/search_recovery.py --novel --seeds 2 --time-budget 30

``--distant`` (701-720, all operators) is twenty more from fields none of the others drew on
(queueing, reliability, meteorology, rheology, finance, population genetics, ...), written down
before their first run.

    python benchmarks/search_recovery.py --distant --seeds 2 --time-budget 30

``--save-fronts DIR`` keeps each run's front as the search found it (``DIR/NUMBER_SEED.pkl``,
with its gradient set), and ``--replay FILE ...`` runs today's simplification and choice on
saved fronts again and prints both fronts, the choice and the verdict, so that a search that
cannot be repeated (several workers race) can still be looked at.

    python benchmarks/search_recovery.py --unseen --seeds 2 --time-budget 30 --save-fronts fronts
    python benchmarks/search_recovery.py --replay fronts/515_1.pkl
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import time
from pathlib import Path

import neuroninterp as ni
from neuroninterp._interpret import choose, simplified_front, simplifiers
from neuroninterp._ops import operator_names
from neuroninterp.experiments import EXPERIMENTS, Experiment, equivalent

OTHER_OPERATORS = ["+", "-", "*", "/", "sin", "cos", "exp", "log", "sqrt", "square"]
OTHER = {number: Experiment(number, truth, None, domain, note) for number, truth, domain, note in [
    (101, "x1*x2/x3**2", ((0.5, 2),) * 3, "Coulomb force"),
    (102, "x1/sqrt(1 - x2**2/x3**2)", ((1, 2), (0.1, 0.9), (1, 1.5)), "relativistic mass"),
    (103, "exp(-(x1 - x2)**2/(2*x3**2))/x3", ((-1, 1), (-1, 1), (0.5, 1.5)), "normal density"),
    (104, "x1*(x2**2 + x3**2 + x4**2)", ((0.5, 2),) * 4, "kinetic energy"),
    (105, "sqrt(x1/x2)", ((0.5, 2),) * 2, "a frequency"),
    (106, "x1*log(x2/x3)", ((0.5, 2),) * 3, "isothermal work"),
    (107, "x1*x4 - x2*x3", ((-1, 1),) * 4, "angular momentum"),
    (108, "x1*x4 + x2*x5 + x3*x6", ((-1, 1),) * 6, "E.B"),
    (109, "x1**2 - x2**2 - x3**2 - x4**2", ((-1, 1),) * 4, "spacetime interval"),
    (110, "x1*cos(x2) + x3**2", ((-1, 1),) * 3, "a projection plus a square"),
    (111, "x1**2/(2*x2) + x2*x3", ((0.5, 2),) * 3, "kinetic plus potential energy"),
    (112, "log(x1**2 + x2**2) + x3", ((0.5, 2),) * 3, "a 2-D potential"),
]}
WIDE = {number: Experiment(number, truth, None, domain, note) for number, truth, domain, note in [
    (113, "x1*x2*tanh(x2*x3)", ((0.5, 2),) * 3, "water-wave dispersion"),
    (114, "x1*cosh(x2/x1)", ((0.5, 2), (-1, 1)), "catenary"),
    (115, "atan(x1*x2/(x3**2 - x2**2))", ((0.1, 1), (0.2, 1), (1.5, 2)), "driven oscillator's phase"),
    (116, "x3*(1 - erf(x1/(2*sqrt(x2))))", ((0.1, 2), (0.5, 2), (0.5, 2)), "diffusion front"),
    (117, "atanh(x1) + atanh(x2)", ((-0.9, 0.9),) * 2, "rapidities add"),
    (118, "sinh(x1)*sin(x2)", ((0.2, 2), (0.2, 3)), "a harmonic function"),
    (119, "asin(x1*sin(x2)/x3)", ((1, 1.5), (0.1, 0.8), (1.5, 2)), "Snell's law"),
    (120, "x3/acosh(x1/x2)", ((2, 4), (0.5, 1), (0.5, 2)), "two-wire capacitance"),
    (121, "x1*tan(x2) - x1**2/(2*x3**2*cos(x2)**2)", ((0.1, 1), (0.2, 1.2), (1, 2)),
     "projectile height"),
]}

# Every operator the package had when WIDE and FRESH were written; MORE runs with all of today's.
OPERATORS_26 = ["+", "-", "*", "/", "pow", "neg", "sin", "cos", "exp", "log", "sqrt", "square", "cube",
                "tanh", "abs", "inv", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
                "atanh", "erf"]
HELD_OUT_OPERATORS = ["+", "-", "*", "/", "pow", "sin", "cos", "exp", "log", "sqrt", "square",
                      "cube", "tanh"]
HELD_OUT = {number: Experiment(number, truth, None, domain, note) for number, truth, domain, note in [
    (201, "x1*exp(-x2/x3)", ((0.5, 2),) * 3, "Arrhenius rate"),
    (202, "x1*x2/(x3 + x2)", ((0.5, 2),) * 3, "Michaelis-Menten rate"),
    (203, "x1 - log(x1) + x2 - 2*log(x2)", ((0.2, 3),) * 2, "Lotka-Volterra invariant"),
    (204, "(log(x1/x2) + x3**2/2)/x3", ((0.5, 2), (0.5, 2), (0.2, 1)), "Black-Scholes d1"),
    (205, "x1**0.3*x2**0.7", ((0.5, 2),) * 2, "Cobb-Douglas output"),
    (206, "x1*x2/(x1 + x2)", ((0.5, 2),) * 2, "resistors in parallel"),
    (207, "x1*(x3 + x2)/(x3 - x2)", ((0.5, 2), (0, 0.5), (1, 2)), "Doppler shift"),
    (208, "x1**3/(exp(x1/x2) - 1)", ((0.5, 3), (0.5, 2)), "Planck spectrum"),
    (209, "x1/(1 + exp(-x2*(x3 - 1)))", ((0.5, 2), (0.5, 2), (-1, 3)), "logistic growth"),
    (210, "1/sqrt((x1 - 1)**2 + x2**2) + 1/sqrt((x1 + 1)**2 + x2**2)",
     ((-0.5, 0.5), (0.5, 1.5)), "potential of two charges"),
    (211, "x1**2/2 - cos(x2)", ((-1, 1), (-2, 2)), "pendulum energy"),
    (212, "exp(-x1*x2)*cos(x3*x2)", ((0.1, 0.5), (0, 3), (1, 2)), "damped oscillation"),
    (213, "(x1 + x2/x3**2)*(x3 - x4)", ((0.5, 2), (0.1, 1), (1, 2), (0.1, 0.5)),
     "van der Waals gas"),
    (214, "(1 - x1)**2 + 10*(x2 - x1**2)**2", ((-1, 1),) * 2, "Rosenbrock valley"),
    (215, "x1**2/2 - 1/sqrt(x2**2 + x3**2)", ((-1, 1), (0.5, 1.5), (0.5, 1.5)),
     "orbital energy"),
    (216, "sqrt(x1**2 + x2**2 - 2*x1*x2*cos(x3))", ((0.5, 2), (0.5, 2), (0.5, 2.5)),
     "law of cosines"),
    (217, "x1*(1 + x2/x3)**(x3*x4)", ((0.5, 2), (0.01, 0.2), (1, 12), (1, 10)),
     "compound interest"),
    (218, "x2*(1/x1**12 - 1/x1**6)", ((0.9, 1.5), (0.5, 2)), "Lennard-Jones energy"),
    (219, "x1*x2*cos(x3)/x4**3", ((0.5, 2), (0.5, 2), (0, 1.5), (0.5, 2)), "dipole energy"),
    (220, "x1*sin(x2)**2/(1 + x3*cos(x2))", ((0.5, 2), (0.2, 2.5), (0.1, 0.5)),
     "an orbit equation"),
]}

FRESH = {number: Experiment(number, truth, None, domain, note) for number, truth, domain, note in [
    (301, "x1**2*(x2 - x3)/x4", ((0.5, 2), (2, 3), (0.5, 1.5), (0.5, 2)), "Stokes terminal velocity"),
    (302, "x1 + x2**2/2 + 9.81*x3", ((0, 1), (-1, 1), (0, 0.2)), "Bernoulli head"),
    (303, "1/x1**2 - 1/x2**2", ((1, 2), (2, 4)), "Rydberg formula"),
    (304, "exp(-x1/x2)/x1", ((0.5, 2),) * 2, "Yukawa potential"),
    (305, "x1*sqrt(1 + (x2/x3)**2)", ((0.5, 2),) * 3, "Gaussian beam width"),
    (306, "x1 - (1 - x1)/x2", ((0.1, 0.9), (0.5, 3)), "Kelly fraction"),
    (307, "sqrt(x1**2*x2**2 + x3**2)", ((0.5, 2),) * 3, "relativistic energy"),
    (308, "x1*x2/(x3*(1 + x4/x5) + x2)", ((0.5, 2),) * 5, "competitive inhibition"),
    (309, "x1*cos(x2)**2", ((0.5, 2), (0, 1.2)), "Malus's law"),
    (310, "x1*x2**4/x3", ((0.5, 2),) * 3, "Poiseuille flow"),
    (311, "x1*exp(-x2*exp(-x3*x4))", ((0.5, 2), (0.5, 2), (0.5, 2), (0, 3)), "Gompertz growth"),
    (312, "(x1 + x2)/(1 + x1*x2)", ((-0.9, 0.9),) * 2, "relativistic velocity addition"),
    (313, "x1*exp(-x1/2)*cos(x2)", ((0.5, 3), (0, 1.5)), "hydrogen 2p orbital"),
    (314, "x1 + x2*log(x3)", ((-1, 1), (0.5, 2), (0.5, 3)), "chemical potential"),
    (315, "1/((x1**2 - x2**2)**2 + (x1*x3)**2)", ((0.5, 2), (0.5, 2), (0.2, 1)),
     "resonance curve"),
    (316, "x1*x2**2/(x2**2 + x3**2)**1.5", ((0.5, 2),) * 3, "field on a loop's axis"),
    (317, "exp(-(x1 - 1)**2 - x2**2) + exp(-(x1 + 1)**2 - x2**2)", ((-2, 2), (-1, 1)),
     "two-bump density"),
    (318, "x1*(exp(x2/x3) - 1)", ((0.5, 2), (0, 1), (0.5, 2)), "diode current"),
    (319, "(x1 - 1)*(1/x2 - 1/x3)", ((1.2, 2), (0.5, 1), (1.5, 3)), "lensmaker's equation"),
    (320, "((x1 - x2)/(x1 + x2))**2", ((1, 2), (2, 3)), "Fresnel reflectance"),
]}

# Formulas that need the operators added after the fresh set (PySR's log10, log2, log1p, erfc,
# gamma, max, min, and cbrt, sigmoid), written down before their first run.
MORE = {number: Experiment(number, truth, None, domain, note) for number, truth, domain, note in [
    (401, "x1 + log10(x2/x3)", ((2, 10), (0.1, 2), (0.1, 2)), "Henderson-Hasselbalch pH"),
    (402, "x1/(1 + exp(-x2*(x3 - x4)))", ((0.5, 2), (0.5, 2), (-1, 1), (-1, 1)),
     "logistic growth curve"),
    (403, "log1p(exp(x1*x2)) - x3", ((-2, 2),) * 3, "a softplus"),
    (404, "x1 + (x2 - x1)*erfc(x3/(2*sqrt(x4)))", ((0, 1), (2, 3), (0.1, 1), (0.1, 1)),
     "heat flow into a solid"),
    (405, "Max(x1*x2, x3)", ((0.5, 2),) * 3, "the larger of two costs"),
    (406, "gamma(x1)*gamma(x2)/gamma(x1 + x2)", ((0.5, 3),) * 2, "the beta function"),
    (407, "x3 - cbrt(x1*x2**2)", ((0.5, 2),) * 3, "Kepler's third law against a distance"),
    (408, "x1*log2(1 + x2/x3)", ((0.5, 2),) * 3, "Shannon channel capacity"),
    (409, "Min(x1, x2)*x3", ((0.5, 2),) * 3, "Liebig's law of the minimum"),
    (410, "x1 + Max(0, x2 - x3)**2", ((0, 1),) * 3, "a one-sided quadratic penalty"),
]}

# Twenty more, from biology, chemistry, economics and physics, written down before their first
# run; they run with every operator (today's 36).
UNSEEN = {number: Experiment(number, truth, None, domain, note) for number, truth, domain, note in [
    (501, "x1*x2/(1 + x1*x2*x3)", ((0.5, 2),) * 3, "Holling type II functional response"),
    (502, "x1*x2*(1 - x2/x3)", ((0.5, 2), (0.5, 2), (2, 4)), "logistic population growth"),
    (503, "x1*x2/(x3 + x2 + x2**2/x4)", ((0.5, 2),) * 4, "substrate inhibition (Haldane)"),
    (504, "x1**x3/(x2**x3 + x1**x3)", ((0.5, 2), (0.5, 2), (1, 4)), "Hill equation"),
    (505, "x1*(1 - (1 + x2)**(-x3))/x2", ((0.5, 2), (0.01, 0.2), (1, 30)),
     "present value of an annuity"),
    (506, "-x1*sqrt(x2)/(1 + x3*sqrt(x2))", ((0.5, 2),) * 3, "Debye-Hueckel activity"),
    (507, "x1*sqrt((1 + x2)/(1 - x2))", ((0.5, 2), (-0.8, 0.8)), "relativistic Doppler factor"),
    (508, "x1**3*exp(-x1/x2)", ((0.5, 3), (0.5, 2)), "Wien's approximation"),
    (509, "x1 + (x2 - x1)/(1 + (x3/x4)**x5)", ((0, 0.5), (1.5, 2), (0.5, 2), (0.5, 2), (1, 3)),
     "four-parameter dose response"),
    (510, "x1*x2/(1 + (x1 - 1)*x2/x3)", ((1.2, 3), (0.5, 2), (1, 3)), "Beverton-Holt recruitment"),
    (511, "x1*x2/(x3 + x4)", ((0.5, 2),) * 4, "basic reproduction number"),
    (512, "sqrt(2*x1/x2) - x3", ((0.5, 2),) * 3, "escape velocity against a speed"),
    (513, "x1**1.5/sqrt(x2 + x3)", ((0.5, 2),) * 3, "Kepler's orbital period"),
    (514, "x1*exp(-x2*x3)/x3**2", ((0.5, 2), (0.1, 1), (0.5, 2)), "attenuated inverse square"),
    (515, "x2*(sin(x1)/x1)**2", ((0.3, 3), (0.5, 2)), "single-slit intensity"),
    (516, "x1*(x2**4 - x3**4)", ((0.5, 2), (1, 2), (0.2, 1)), "net radiated power"),
    (517, "x3*(x1/x2)**2*exp(x1/x2)/(exp(x1/x2) - 1)**2", ((0.5, 2),) * 3,
     "Einstein solid heat capacity"),
    (518, "(sqrt(x1) + sqrt(x2))**2 - x3", ((0.5, 2),) * 3, "CES utility against a price"),
    (519, "x1**2*sin(2*x2)/x3", ((0.5, 2), (0.1, 1.4), (0.5, 2)), "projectile range"),
    (520, "x1*exp(-x2*(1/x3 - 1/x4))", ((0.5, 2), (0.5, 2), (0.5, 1), (1, 2)),
     "Clausius-Clapeyron vapour pressure"),
]}


# Twenty more from fields the earlier sets left out (spectroscopy, statistics, hydrology,
# neuroscience, pharmacology, acoustics, materials, astronomy, electronics), written down before
# their first run; every operator (today's 36).
NOVEL = {number: Experiment(number, truth, None, domain, note) for number, truth, domain, note in [
    (601, "x1*tanh(x2*x3/x1)", ((0.5, 2), (0.5, 2), (0.1, 2)), "speed of a falling body with drag"),
    (602, "x1/((x2 - x3)**2 + x1**2)", ((0.2, 1), (-1, 1), (-1, 1)), "Lorentzian line shape"),
    (603, "x1**x2*exp(-x1)/gamma(x2 + 1)", ((1, 5), (0.5, 5)), "Poisson probability"),
    (604, "gamma(x1 + 1)/(gamma(x2 + 1)*gamma(x1 - x2 + 1))", ((4, 8), (1, 3)),
     "binomial coefficient"),
    (605, "x1**(2/3)*sqrt(x2)/x3", ((0.5, 2),) * 3, "Manning's flow velocity"),
    (606, "log((x1 + x2*x3)/(x4 + x2*x5))", ((0.5, 2),) * 5, "Goldman membrane voltage"),
    (607, "x1 + x2*(1 - cos(x3))", ((0.5, 2), (0.1, 1), (0.2, 3)), "Compton scattering"),
    (608, "atan(x1/x2) - x3", ((1, 2), (1, 2), (0.5, 1.2)), "Brewster angle against an incidence"),
    (609, "x1*sqrt(x2)*exp(-x3/x2)", ((0.5, 2),) * 3, "collision-theory rate"),
    (610, "20*log10(x1/x2) - x3*x4", ((0.5, 2), (0.5, 2), (0, 1), (0, 5)),
     "sound level after absorption"),
    (611, "x1*x2/(x2 - x3)*(exp(-x3*x4) - exp(-x2*x4))", ((0.5, 2), (1.5, 3), (0.1, 1), (0.5, 3)),
     "Bateman drug concentration"),
    (612, "x1*asinh(x2/x3)", ((0.5, 2),) * 3, "potential of a charged rod"),
    (613, "x1*(1 - exp(-x2*x3))", ((0.5, 2),) * 3, "light absorbed (Beer-Lambert)"),
    (614, "x1 + x2/sqrt(x3)", ((0.5, 2),) * 3, "Hall-Petch strength"),
    (615, "(x3*x1**x4 + (1 - x3)*x2**x4)**(1/x4)", ((0.5, 2), (0.5, 2), (0.2, 0.8), (0.2, 0.8)),
     "CES production"),
    (616, "x1*(1 - x2/x3)", ((0.5, 2), (0.5, 1), (1.5, 3)), "work of a Carnot engine"),
    (617, "x1 - 5*log10(x2)", ((10, 20), (1, 100)), "absolute magnitude"),
    (618, "sqrt(x1**2 + (x2*x3 - 1/(x3*x4))**2)", ((0.5, 2),) * 4, "RLC impedance"),
    (619, "x4*sigmoid(x1*x2 - x3)", ((-2, 2), (-2, 2), (-2, 2), (0.5, 2)), "a gated unit's output"),
    (620, "x1*exp(x2*(1 - x1/x3))", ((0.5, 2), (0.5, 2), (1, 3)), "Ricker recruitment"),
]}


# Twenty more from fields none of the sets above drew on (queueing, reliability, meteorology,
# rheology, soil mechanics, finance, population genetics, surface chemistry, biomechanics,
# oceanography, statistics), written down before their first run; every operator (today's 36).
DISTANT = {number: Experiment(number, truth, None, domain, note) for number, truth, domain, note in [
    (701, "x1/(x2*(x2 - x1))", ((0.1, 1), (1.5, 3)), "waiting time in an M/M/1 queue"),
    (702, "exp(-(x1/x2)**x3)", ((0.5, 2), (0.5, 2), (0.5, 3)), "Weibull survival"),
    (703, "log(x1) + 17.62*x2/(243.12 + x2)", ((0.2, 1), (0, 40)), "Magnus dew-point term"),
    (704, "sqrt(9.81/x1 + x2*x1/x3)", ((0.5, 3), (0.5, 2), (0.5, 2)), "capillary-gravity wave speed"),
    (705, "1/(exp((x1 - x2)/x3) + 1)", ((-1, 1), (-1, 1), (0.2, 1)), "Fermi-Dirac occupancy"),
    (706, "x1*(1 + x2)/(x3 - x2)", ((0.5, 2), (0, 0.05), (0.08, 0.15)), "Gordon growth price"),
    (707, "x1 + x2*tan(x3)", ((0, 1), (0.5, 2), (0.2, 0.8)), "Mohr-Coulomb shear strength"),
    (708, "x1 + x2*x3**x4", ((0, 1), (0.5, 2), (0.5, 2), (0.3, 1)), "Herschel-Bulkley stress"),
    (709, "(1 + (x1*x2)**2)**((x3 - 1)/2)", ((0.5, 2), (0.5, 2), (0.2, 0.8)), "Carreau viscosity"),
    (710, "1/(1 + x1*sin(x2/2)**2)", ((0.5, 5), (0.5, 5)), "Fabry-Perot transmission"),
    (711, "sqrt(9.81*tanh(x1*x2)/x1)", ((0.2, 3), (0.2, 3)), "wave speed at finite depth"),
    (712, "0.6215*x1 - 11.37*x2**0.16 + 0.3965*x1*x2**0.16", ((-20, 10), (5, 40)), "wind chill"),
    (713, "x3*(x1 - x2)/(x2 + x4)", ((1.5, 2), (0.1, 1), (0.5, 2), (0.2, 1)),
     "Hill's muscle force-velocity"),
    (714, "x1/(1 - exp(-x1/x2))", ((0.5, 3), (0.5, 2)), "a Hodgkin-Huxley rate"),
    (715, "x2*((1 + x1)**2 - 1)/((1 + x1)**2 + 1)", ((0, 3), (0.5, 2)), "velocity from a redshift"),
    (716, "log(x1*(1 - x2)/(x2*(1 - x1)))", ((0.1, 0.9),) * 2, "log odds ratio"),
    (717, "x1*x2/((1 - x2)*(1 + (x1 - 1)*x2))", ((2, 10), (0.05, 0.8)), "BET adsorption"),
    (718, "x1/x2 + (x1/x3)**x4", ((0.5, 2), (0.5, 2), (0.5, 2), (2, 6)), "Ramberg-Osgood strain"),
    (719, "(1 - exp(-2*x1))/(1 - exp(-4*x1*x2))", ((0.01, 0.5), (1, 10)), "Kimura fixation probability"),
    (720, "x1 + (x2 - x1)*exp(-x3*x4)", ((0.1, 0.5), (1, 2), (0.5, 2), (0, 2)), "Horton infiltration"),
]}


def replay(path: str) -> None:
    """Simplify and choose again on a front saved by ``--save-fronts``: the front as found,
    the simplified front, the choice and the verdict."""
    with open(path, "rb") as file:
        saved = pickle.load(file)
    exp, gs = saved["experiment"], saved["gradient_set"]
    names = gs.feature_names
    print(f"# {path}: experiment {exp.number} `{exp.truth}`, seed {saved['seed']}, "
          f"stopped {saved['stopped']}\n\n| complexity | loss | formula found |\n|---:|---:|:---|")
    for complexity, loss, formula in saved["found"]:
        print(f"| {complexity} | {loss:.3g} | `{formula.to_sympy(names)}` |")
    t0 = time.perf_counter()
    front = simplified_front(saved["found"], names, *simplifiers(gs))
    print(f"\nsimplified in {time.perf_counter() - t0:.1f} s:\n\n"
          "| complexity | loss | formula |\n|---:|---:|:---|")
    for c in front:
        print(f"| {c.complexity} | {c.loss:.3g} | `{c.expr}` |")
    best = choose(front)
    fresh = exp.sample(2000, seed=10_000 + saved["seed"])
    ok = best is not None and equivalent(best.expr, exp.expr, exp.names, fresh, cosine=saved["cosine"])[0]
    print(f"\nchosen: `{best}`, equivalent: {'yes' if ok else 'no'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, nargs="+", default=None,
                        help="default: 1-6, or all of --other")
    parser.add_argument("--other", action="store_true", help="the formulas from outside the paper")
    parser.add_argument("--held-out", action="store_true",
                        help="twenty more formulas, written down before their first run")
    parser.add_argument("--fresh", action="store_true",
                        help="twenty more, written down before their first run, with every operator")
    parser.add_argument("--more", action="store_true",
                        help="ten formulas that need the operators added after --fresh")
    parser.add_argument("--unseen", action="store_true",
                        help="twenty more from other fields, written down before their first run")
    parser.add_argument("--novel", action="store_true",
                        help="twenty more from yet other fields, written down before their first run")
    parser.add_argument("--distant", action="store_true",
                        help="twenty more from fields none of the others drew on, written down before "
                             "their first run")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--operators", nargs="+", default=None,
                        help="operator names for every formula, or 'all'")
    parser.add_argument("--constraints", type=json.loads, default=None,
                        help='search constraints as JSON, e.g. \'{"pow": [-1, 1]}\'')
    parser.add_argument("--nested-constraints", type=json.loads, default=None,
                        help='nested constraints as JSON, e.g. \'{"exp": {"exp": 0}}\'')
    parser.add_argument("--save-fronts", metavar="DIR", default=None,
                        help="keep each front as found, with its gradient set, in DIR/NUMBER_SEED.pkl")
    parser.add_argument("--replay", metavar="FILE", nargs="+", default=None,
                        help="simplify and choose again on fronts saved by --save-fronts")
    args = parser.parse_args()
    if args.replay:
        for path in args.replay:
            replay(path)
        return
    cosine = 0.999 if args.noise else 0.9999
    cases = (DISTANT if args.distant else NOVEL if args.novel else UNSEEN if args.unseen
             else MORE if args.more else FRESH if args.fresh
             else HELD_OUT if args.held_out else {**OTHER, **WIDE} if args.other else EXPERIMENTS)
    numbers = args.experiments or (sorted(cases) if cases is not EXPERIMENTS else [1, 2, 3, 4, 5, 6])
    given = operator_names() if args.operators == ["all"] else args.operators

    def operators(number: int) -> list[str] | None:
        if given or cases is EXPERIMENTS:
            return given
        return (HELD_OUT_OPERATORS if number in HELD_OUT else OTHER_OPERATORS if number in OTHER
                else operator_names() if number in {**MORE, **UNSEEN, **NOVEL, **DISTANT} else OPERATORS_26)

    print(f"# search recovery: {args.points} points, time_budget={args.time_budget:g} s, "
          f"noise={args.noise:g}, cosine >= {cosine}, n_jobs={args.n_jobs or 'all cores'}, "
          f"operators={' '.join(given) if given else 'default' if cases is EXPERIMENTS else 'per set'}, "
          f"constraints={args.constraints}, nested_constraints={args.nested_constraints}\n")
    print("| exp | seed | equivalent | chosen formula | seconds | simplify seconds | stopped |")
    print("|----:|-----:|:----------:|:---------------|--------:|-----------------:|:--------|")
    summary = []
    for number in numbers:
        exp = cases[number]
        times, simplify, wins = [], [], 0
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            gs = exp.gradient_set(args.points, seed=seed, noise=args.noise)
            ops = operators(number)
            result = ni.interpret(gs, seed=seed, time_budget=args.time_budget, n_jobs=args.n_jobs,
                                  progress=False, constraints=args.constraints,
                                  nested_constraints=args.nested_constraints,
                                  **({"operators": ops} if ops else {}))
            fresh = exp.sample(2000, seed=10_000 + seed)
            ok = result.best is not None and equivalent(
                result.best.expr, exp.expr, exp.names, fresh, cosine=cosine)[0]
            wins += ok
            if args.save_fronts:
                Path(args.save_fronts).mkdir(parents=True, exist_ok=True)
                with open(Path(args.save_fronts) / f"{number}_{seed}.pkl", "wb") as file:
                    pickle.dump({"experiment": exp, "seed": seed, "gradient_set": gs,
                                 "found": result.found, "stopped": result.stats["stopped"],
                                 "cosine": cosine}, file)
            times.append(result.stats["seconds"])
            simplify.append(result.stats["simplify_seconds"])
            print(f"| {number} | {seed} | {'yes' if ok else 'no'} | `{result.best}` | "
                  f"{times[-1]:.1f} | {simplify[-1]:.1f} | {result.stats['stopped']} |", flush=True)
        summary.append((number, exp.truth, wins, len(times), statistics.median(times), max(simplify)))
    print("\n| exp | truth | equivalent | median search seconds | longest simplify seconds |")
    print("|----:|:------|-----------:|----------------------:|-------------------------:|")
    for number, truth, wins, n, med, longest in summary:
        print(f"| {number} | `{truth}` | {wins}/{n} | {med:.1f} | {longest:.1f} |")


if __name__ == "__main__":
    main()
