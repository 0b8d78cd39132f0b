"""Read ``manifest.toml``, the single source of the kata order, hints and rules.

>>> from kata.core.manifest import load_manifest
>>> manifest = load_manifest()
>>> manifest.kata("3").folder
'03_matmul'
>>> manifest.kata("03_matmul").module
'matmul'
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from kata.core.records import Cause


@dataclass(frozen=True)
class Rule:
    """A rule of the lesson: what is forbidden and why."""

    name: str
    why: str
    calls: tuple[str, ...] = ()
    #: no tensor operation inside a Python loop, no tensor walked element by element
    loops: bool = False
    #: operators of torch's dispatcher (``aten.mm``) that may not run
    ops: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()
    #: when not empty, the only operators of torch's dispatcher that may run (``ops`` still
    #: may not): the entries of the manifest's ``[op_groups]`` that the rule names, each an
    #: operator (``aten.cat``) or a family of them (``tag:pointwise``, ``schema:view``)
    allowed_ops: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kata:
    """One kata: ``katas/<folder>/<module>.py`` and its tests beside it."""

    number: int
    folder: str
    title: str
    #: public function or class name -> its hints, in steps: a question, the idea, a nudge
    hints: dict[str, tuple[str, ...]]
    #: public function or class name -> names of the rules it must follow, in manifest order
    functions: dict[str, tuple[str, ...]]
    #: folders of the earlier katas whose modules this kata's module imports
    uses: tuple[str, ...] = ()
    #: public names the stub keeps whole: code handed to the learner, not asked of them
    given: tuple[str, ...] = ()
    #: demands beyond values, ``"function.key" -> sentence``: each sentence stands in that
    #: function's docstring, and the tests that enforce it name it (see ``kata.assertions``)
    contracts: dict[str, str] = field(default_factory=dict)
    #: what the kata is worth when graded: ``points`` in all, shared among its public names
    #: by ``weights`` (1 each unless the manifest says otherwise), each name's share split
    #: evenly among the tests marked with it
    points: float = 10
    weights: dict[str, float] = field(default_factory=dict)
    #: public name -> the hint a failure of that cause shows in place of its next step
    cause_hints: dict[str, dict[Cause, str]] = field(default_factory=dict)

    def weight(self, function: str) -> float:
        """``function``'s weight in the kata's points (1 unless the manifest says)."""
        return self.weights.get(function, 1.0)

    @property
    def module(self) -> str:
        """The module name: the folder without its number (``03_matmul`` -> ``matmul``)."""
        return self.folder.split("_", 1)[1]

    def path_in(self, root: Path) -> Path:
        """Where this kata's module lives in a tree laid out like ``katas/``."""
        return Path(root) / self.folder / f"{self.module}.py"


@dataclass(frozen=True)
class Manifest:
    katas: tuple[Kata, ...]
    rules: dict[str, Rule]

    def kata(self, name: str) -> Kata:
        """Find a kata by number (``3``, ``03``) or folder name (``03_matmul``).

        Raises ``KeyError`` listing the valid names when there is no such kata.
        """
        for kata in self.katas:
            if name in (kata.folder, kata.module) or (name.isdigit() and int(name) == kata.number):
                return kata
        valid = ", ".join(k.folder for k in self.katas)
        raise KeyError(f"no kata {name!r}; the katas are: {valid}")

    def contract(self, name: str, kata: Kata | None = None) -> str:
        """The sentence of contract ``name`` (``"matmul.inner_sizes"``) of ``kata`` (of any
        kata, for None); ``KeyError`` when there is none such.

        >>> load_manifest().contract("matmul.misfit")[:30]
        'Raises ``ValueError`` naming b'
        """
        for candidate in (kata,) if kata else self.katas:
            if name in candidate.contracts:
                return candidate.contracts[name]
        where = kata.folder if kata else "any kata"
        raise KeyError(f"no contract {name!r} in {where} of the manifest")

    def used_katas(self, kata: Kata) -> list[Kata]:
        """The earlier katas ``kata`` uses, directly or through one another, in manifest
        order (kata 08 uses 05, 06 and 07, and 04 through 05).

        >>> [used.folder for used in load_manifest().used_katas(load_manifest().kata("08"))]
        ['04_softmax', '05_module', '06_dataloader', '07_training_loop']
        """
        wanted, pending = set(), list(kata.uses)
        while pending:
            folder = self.kata(pending.pop()).folder
            if folder not in wanted:
                wanted.add(folder)
                pending.extend(self.kata(folder).uses)
        return [entry for entry in self.katas if entry.folder in wanted]

    def related_katas(self, kata: Kata) -> set[str]:
        """The folders of ``kata``, of the katas it uses and of those that use it, directly
        or not: katas whose code can change one another's verdicts.

        >>> sorted(load_manifest().related_katas(load_manifest().kata("06")))
        ['06_dataloader', '08_mnist']
        """
        return ({kata.folder} | {used.folder for used in self.used_katas(kata)}
                | {other.folder for other in self.katas if kata in self.used_katas(other)})

    def rules_of(self, kata: Kata, function: str) -> tuple[Rule, ...]:
        return tuple(self.rules[name] for name in kata.functions[function])

    def hint(self, kata: Kata, function: str, number: int = 1, cause: Cause | None = None) -> str:
        """Hint ``number`` (1-based) for ``function`` of ``kata``, with its place in the
        sequence; for a failure of ``cause``, the function's hint for that cause instead,
        where it has one.

        >>> load_manifest().hint(load_manifest().kata("03"), "matvec")[:27]
        'Hint 1 of 3 for matvec: m h'
        >>> load_manifest().hint(load_manifest().kata("03"), "matvec", 1, Cause.DTYPE)[:35]
        "Hint for matvec's wrong dtype: int3"
        """
        by_cause = kata.cause_hints.get(function, {})
        if cause in by_cause:
            return f"Hint for {function}'s {cause.words}: {by_cause[cause]}"
        hints = kata.hints[function]
        return f"Hint {number} of {len(hints)} for {function}: {hints[number - 1]}"


def _parse(data: dict) -> Manifest:
    rules = {
        name: Rule(name, " ".join(body["why"].split()), tuple(body.get("calls", ())),
                   body.get("loops", False), tuple(body.get("ops", ())),
                   tuple(body.get("bases", ())),
                   _allowed_ops(name, body, data.get("op_groups", {})))
        for name, body in data["rules"].items()
    }
    katas: list[Kata] = []
    for entry in data["katas"]:
        functions = {fn: tuple(names) for fn, names in entry["functions"].items()}
        for fn, names in functions.items():
            unknown = set(names) - rules.keys()
            if unknown:
                raise ValueError(f"{entry['folder']}.{fn} names unknown rules {sorted(unknown)}")
        earlier = {kata.folder for kata in katas}
        if not set(entry.get("uses", ())) <= earlier:
            raise ValueError(f"{entry['folder']} uses {entry['uses']}, but a kata may only use "
                             f"earlier ones: {sorted(earlier)}")
        katas.append(Kata(
            number=int(entry["folder"].split("_", 1)[0]),
            folder=entry["folder"],
            title=entry["title"],
            hints=_hints(entry, functions),
            functions=functions,
            uses=tuple(entry.get("uses", ())),
            given=tuple(entry.get("given", ())),
            contracts=_contracts(entry, functions),
            points=_positive(entry, "points", entry.get("points", DEFAULT_POINTS)),
            weights=_weights(entry, functions),
            cause_hints=_cause_hints(entry, functions),
        ))
    return Manifest(tuple(katas), rules)


def _allowed_ops(rule: str, body: dict, groups: dict) -> tuple[str, ...]:
    """The entries of the operator groups a rule's ``allowed_ops`` names, in order."""
    unknown = sorted(set(body.get("allowed_ops", ())) - groups.keys())
    if unknown:
        raise ValueError(f"rule {rule} allows unknown operator groups {unknown}; the groups "
                         f"are {sorted(groups)}")
    return tuple(entry for group in body.get("allowed_ops", ()) for entry in groups[group])


def _hints(entry: dict, functions: dict) -> dict[str, tuple[str, ...]]:
    """A kata's hints by public name, in the order of its functions, each whitespace-
    normalized; every public name needs at least one, and only public names have them."""
    hints = entry.get("hints", {})
    missing = [name for name in functions if not hints.get(name)]
    unknown = sorted(hints.keys() - functions.keys())
    if missing or unknown:
        raise ValueError(f"{entry['folder']}: hints are missing for {missing} or given for "
                         f"names that are not public functions: {unknown}")
    return {name: tuple(" ".join(hint.split()) for hint in hints[name]) for name in functions}


def _cause_hints(entry: dict, functions: dict) -> dict[str, dict[Cause, str]]:
    """A kata's hints by cause (``"function.cause" = "hint"``), whitespace-normalized; each
    belongs to a public name and names a ``Cause``."""
    found: dict[str, dict[Cause, str]] = {}
    for name, hint in entry.get("hints_by_cause", {}).items():
        function, _, cause = name.partition(".")
        if function not in functions or cause not in Cause.__members__.values():
            raise ValueError(f"{entry['folder']}: hint {name!r} should be 'function.cause' with "
                             f"function one of {sorted(functions)} and cause one of "
                             f"{[c.value for c in Cause]}")
        found.setdefault(function, {})[Cause(cause)] = " ".join(hint.split())
    return found


#: what a kata is worth when the manifest does not say
DEFAULT_POINTS = 10


def _positive(entry: dict, what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{entry['folder']}: {what} must be a positive number, not {value!r}")
    return float(value)


def _weights(entry: dict, functions: dict) -> dict[str, float]:
    """A kata's weights by public name; only public names have one, each positive."""
    weights = entry.get("weights", {})
    unknown = sorted(weights.keys() - functions.keys())
    if unknown:
        raise ValueError(f"{entry['folder']}: weights are given for names that are not public "
                         f"functions: {unknown}")
    return {name: _positive(entry, f"the weight of {name}", weight)
            for name, weight in weights.items()}


def _contracts(entry: dict, functions: dict) -> dict[str, str]:
    """A kata's contracts, each sentence whitespace-normalized; a contract must belong to one
    of the kata's public names."""
    contracts = {name: " ".join(sentence.split())
                 for name, sentence in entry.get("contracts", {}).items()}
    for name in contracts:
        function, _, key = name.partition(".")
        if function not in functions or not key:
            raise ValueError(f"{entry['folder']}: contract {name!r} should be "
                             f"'function.key' with function one of {sorted(functions)}")
    return contracts


@functools.cache
def load_manifest() -> Manifest:
    """The manifest shipped with the harness, parsed once per process."""
    text = resources.files("kata.core").joinpath("manifest.toml").read_text(encoding="utf-8")
    return _parse(tomllib.loads(text))
