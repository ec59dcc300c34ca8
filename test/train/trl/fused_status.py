"""How the engine resolves --fused-loss / --no-fused-loss / auto, as JSON:
{status: [available, reason], auto: why | null, on: why | error, off: why}."""
import json

from ipo_node.trl_trainer import resolve_fused

try:
    from ipo_node import trl_fused

    status = list(trl_fused.fused_loss_status())
except ImportError as err:
    status = [False, f"not importable: {err}"]
result = {"status": status}
for name, mode in (("auto", "auto"), ("on", True), ("off", False)):
    try:
        factory, why = resolve_fused(mode)
        result[name] = {"fused": factory is not None, "why": why}
    except RuntimeError as err:
        result[name] = {"error": str(err)}
print(json.dumps(result))
