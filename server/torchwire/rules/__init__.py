"""The rules, one per file. Each documents itself and carries its own examples."""

from __future__ import annotations

from .base import Rule
from .tw101_discarded_output import DiscardedOutput
from .tw102_same_input_last_output import SameInputLastOutput
from .tw103_output_never_used import OutputNeverUsed
from .tw201_unregistered_modules import UnregisteredModules
from .tw202_shared_instance import SharedInstance
from .tw203_container_called import ContainerCalled
from .tw204_container_misbuilt import ContainerMisbuilt
from .tw205_layer_in_forward import LayerInForward
from .tw206_tensor_not_parameter import TensorNotParameter
from .tw207_tensor_attribute import TensorAttribute
from .tw208_assigned_before_init import AssignedBeforeInit
from .tw301_size_mismatch import SizeMismatchRule
from .tw302_unused_submodule import UnusedSubmodule

ALL_RULES: list[Rule] = [
    DiscardedOutput(),
    SameInputLastOutput(),
    OutputNeverUsed(),
    UnregisteredModules(),
    SharedInstance(),
    ContainerCalled(),
    ContainerMisbuilt(),
    LayerInForward(),
    TensorNotParameter(),
    TensorAttribute(),
    AssignedBeforeInit(),
    SizeMismatchRule(),
    UnusedSubmodule(),
]
RULES_BY_CODE = {rule.code: rule for rule in ALL_RULES}
