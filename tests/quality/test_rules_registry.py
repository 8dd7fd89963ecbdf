"""Every rule is registered once, with a stable upper-case code, a severity and both titles."""

from __future__ import annotations

import importlib
import pkgutil

import territoria.quality.rules as rules_pkg
import territoria.validation.rules as row_rules_pkg
from territoria.quality.rules import RULES


def test_every_rule_module_is_registered_with_both_languages() -> None:
    modules = [
        (pkg.__name__, m.name)
        for pkg in (rules_pkg, row_rules_pkg)  # the series rules and the row and asset rules
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_")
    ]
    codes = []
    for package, name in modules:
        rule = importlib.import_module(f"{package}.{name}").RULE
        assert rule.code == name.upper(), (name, rule.code)
        assert rule.severity in ("error", "warning") and rule.scope in ("row", "series", "asset", "dataset")
        en, fr = rule.title("en"), rule.title("fr")
        assert en != f"rule.{rule.code}" and fr != f"rule.{rule.code}" and en != fr, rule.code
        assert RULES[rule.code] is rule, f"{rule.code} is not in RULES"
        codes.append(rule.code)
    assert sorted(codes) == sorted(RULES)
