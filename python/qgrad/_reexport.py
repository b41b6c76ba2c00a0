"""The public names of a binding module, so qgrad.nn etc. can re-export them."""
import types


def public_names(module):
    return {name: value for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType)}
