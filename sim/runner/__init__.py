"""Running scenarios: replications, executors, the results store."""

from sim.runner.replication import ReplicationResult, build, run_replication
from sim.runner.run import Result, run_scenario

__all__ = ["ReplicationResult", "Result", "build", "run_replication", "run_scenario"]
