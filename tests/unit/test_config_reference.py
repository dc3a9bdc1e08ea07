"""docs/configuration.md is generated from the settings Structs and must not drift from them."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import app.settings

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "config_reference.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_reference", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_committed_reference_matches_the_settings_structs() -> None:
    generator = _generator()
    assert generator.main(["--check"]) == 0, "run .venv/bin/python scripts/config_reference.py"


def test_every_settings_field_is_documented_by_a_comment() -> None:
    generator = _generator()
    sections = generator.section_variables(inspect.getsource(app.settings))
    assert {name for name, _doc, _variables in sections} >= {
        "CommercetoolsSettings",
        "NovomindSettings",
        "GatewaySettings",
    }
    undocumented = [v.name for _n, _d, variables in sections for v in variables if not v.meaning]
    assert undocumented == [], f"comment these fields in app/settings.py: {undocumented}"


def test_a_new_field_changes_the_reference() -> None:
    generator = _generator()
    source = inspect.getsource(app.settings)
    marker = "    log_level: Annotated"
    changed = source.replace(marker, "    # Shows up in the reference.\n    brand_new: int = 7\n" + marker, 1)
    assert "`GATEWAY_BRAND_NEW` | no | `7`" in generator.render(changed)
    assert "GATEWAY_BRAND_NEW" not in generator.render(source)
