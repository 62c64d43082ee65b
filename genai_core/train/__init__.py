from .task import EpochSampler, Task
from .trainer import Callback, Trainer

__all__ = ["Callback", "EpochSampler", "Task", "Trainer"]
