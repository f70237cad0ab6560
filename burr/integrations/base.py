"""Helpers shared by the optional integrations."""


def require_plugin(import_error: ImportError, plugin_name: str) -> None:
    """Re-raise ``import_error`` with the ``pip install`` line that fixes it."""
    raise ImportError(
        f"Missing packages for the `{plugin_name}` integration ({import_error}). "
        f'Install them with: pip install "burr[{plugin_name}]"'
    ) from import_error
