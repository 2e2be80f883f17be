"""The Flow simulator: a strict fake of Flow's upstream hosts and of a captcha solver.

A product feature (``make demo`` runs on it) and the witness every test runs against. It imports
nothing from the gateway, so a gateway bug cannot hide in a shared helper.
"""

from gateway.simulator.config import SimAccount, SimulatorConfig
from gateway.simulator.faults import Fault, Faults
from gateway.simulator.simulator import Simulator
from gateway.simulator.stats import Stats

__all__ = ["Fault", "Faults", "SimAccount", "Simulator", "SimulatorConfig", "Stats"]
