"""Client messages checked against the BidiGenerateContent JSON schema written down here.

``bidi_client_message.schema.json`` holds the client side of the protocol as the public API
reference documents it (its ``description`` names the sources), independently of google-genai's
classes: whatever an installed SDK sends is checked against what the service documents, so an
SDK that drifts fails here instead of in production.

The checker implements the part of JSON Schema the file uses (``type``, ``properties`` with
``additionalProperties: false``, ``items``, ``enum``, ``$ref``, ``minProperties`` and
``maxProperties``) plus the proto3 JSON rules the service parses by: either spelling of a field
name, enum numbers for names, standard or URL-safe base64, 64-bit integers as strings
(https://protobuf.dev/programming-guides/json/). It returns the message normalised to proto
field names (snake_case), enum names and decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

__all__ = ["SchemaViolation", "check_client_message", "client_message_schema"]

_SCHEMA_FILE = "bidi_client_message.schema.json"
_INT32 = (-(2**31), 2**31 - 1)
_UINT32 = (0, 2**32 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_INT_STRING = re.compile(r"^-?\d+$")
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/\-_]*={0,2}$")

Schema = Mapping[str, object]


class SchemaViolation(Exception):
    """A client message the documented schema does not allow.

    ``path`` is where, in proto field names (``setup.generation_config``); ``reason`` is the
    close reason in the service's words; neither echoes a value except an enum name.
    """

    def __init__(self, detail: str, path: str, reason: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.path = path
        self.reason = reason


@cache
def client_message_schema() -> Mapping[str, object]:
    """Return the schema (parsed once)."""
    text = resources.files(__package__).joinpath(_SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


def check_client_message(message: object) -> dict[str, object]:
    """Check one decoded client message; return it with proto names, enum names and bytes.

    Raises:
        SchemaViolation: the message breaks the schema.
    """
    root = client_message_schema()
    checked = _checker().value(message, root, "")
    assert isinstance(checked, dict)
    return checked


@cache
def _checker() -> _Checker:
    return _Checker(client_message_schema())


class _Checker:
    def __init__(self, root: Schema) -> None:
        defs = root["$defs"]
        assert isinstance(defs, Mapping)
        self.defs: Mapping[str, Schema] = defs

    def value(self, value: object, schema: Schema, path: str) -> object:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix("#/$defs/")
            return self.value(value, self.defs[name], path)
        if "enum" in schema:
            return _enum(value, schema, path, self._type_name(schema))
        kind = schema.get("type")
        if kind is None:
            return value  # google.protobuf.Value: any JSON
        if kind == "object":
            return self.object(value, schema, path)
        if kind == "array":
            if not isinstance(value, list):
                raise _invalid(path, "TYPE_MESSAGE", "a list")
            items = schema.get("items", {})
            assert isinstance(items, Mapping)
            return [self.value(item, items, f"{path}[{i}]") for i, item in enumerate(value)]
        return _scalar(value, schema, path)

    def object(self, value: object, schema: Schema, path: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise _invalid(path, "TYPE_MESSAGE", "an object")
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return dict(value)  # google.protobuf.Struct: any JSON object
        names = _names(properties)
        result: dict[str, object] = {}
        for key, item in value.items():
            found = names.get(key)
            if found is None:
                raise SchemaViolation(
                    f"unknown field {key!r} at {path or 'the top level'}",
                    path,
                    _unknown_name(key, path),
                )
            proto_name, json_name = found
            if proto_name in result:
                raise SchemaViolation(f"field {key!r} given twice at {path}", path, _GENERIC)
            if item is None:
                continue  # proto3 JSON: null means unset
            sub = properties[json_name]
            assert isinstance(sub, Mapping)
            result[proto_name] = self.value(item, sub, _join(path, proto_name))
        oneofs = schema.get("x-oneofs", {})
        assert isinstance(oneofs, Mapping)
        for group, members in oneofs.items():
            set_members = [m for m in members if _snake(m) in result]
            if len(set_members) > 1:
                raise SchemaViolation(
                    f"{path or 'message'} sets {len(set_members)} fields of oneof {group!r}",
                    path,
                    _GENERIC,
                )
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        if isinstance(low, int) and len(result) < low:
            raise SchemaViolation(f"{path or 'message'} sets no field", path, _GENERIC)
        if isinstance(high, int) and len(result) > high:
            raise SchemaViolation(
                f"{path or 'message'} sets {len(result)} fields, at most {high}", path, _GENERIC
            )
        return result

    def _type_name(self, schema: Schema) -> str:
        for name, candidate in self.defs.items():
            if candidate is schema:
                return f"type.googleapis.com/google.ai.generativelanguage.v1beta.{name}"
        return "TYPE_ENUM"


_GENERIC = "Request contains an invalid argument."


_NAMES: dict[int, dict[str, tuple[str, str]]] = {}


def _names(properties: Mapping[str, object]) -> dict[str, tuple[str, str]]:
    """Map each accepted spelling of a field to (proto name, JSON name)."""
    names = _NAMES.get(id(properties))  # the schema is parsed once and kept: ids are stable
    if names is None:
        names = {}
        for json_name in properties:
            proto_name = _snake(json_name)
            names[json_name] = (proto_name, json_name)
            names[proto_name] = (proto_name, json_name)
        _NAMES[id(properties)] = names
    return names


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.lstrip("_")).lower()


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _enum(value: object, schema: Schema, path: str, type_name: str) -> str:
    names = schema["enum"]
    numbers = schema.get("x-enum-numbers", {})
    assert isinstance(names, list) and isinstance(numbers, Mapping)
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in numbers.items():
            if number == value:
                return str(name)
    shown = json.dumps(value)[:40]
    raise SchemaViolation(
        f"{path}: {shown} is not one of {type_name.rsplit('.', 1)[-1]}",
        path,
        f"Invalid value at '{path}' ({type_name}), {shown}",
    )


def _scalar(value: object, schema: Schema, path: str) -> object:
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string" and schema.get("contentEncoding") == "base64":
        if not isinstance(value, str) or not _BASE64.match(value):
            raise _invalid(path, "TYPE_BYTES", "base64")
        core = value.rstrip("=").replace("-", "+").replace("_", "/")
        try:
            return base64.b64decode(core + "=" * (-len(core) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(path, "TYPE_BYTES", "base64") from None
    if kind == "string":
        if not isinstance(value, str):
            raise _invalid(path, "TYPE_STRING", "a string")
        if fmt == "duration" and not _DURATION.match(value):
            raise _invalid(path, "TYPE_MESSAGE", "a duration such as '1.5s'")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _invalid(path, "TYPE_BOOL", "true or false")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(path, "TYPE_FLOAT", "a number")
        return float(value)
    # integers: int32, uint32, int64 (the last also as a string)
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INT_STRING.match(value):
        number = int(value)
    low, high = {"int32": _INT32, "uint32": _UINT32}.get(str(fmt), _INT64)
    if number is None or not low <= number <= high:
        raise _invalid(path, f"TYPE_{str(fmt).upper()}", f"an {fmt}")
    return number


def _invalid(path: str, proto_type: str, expected: str) -> SchemaViolation:
    # The service's words, without the value: it may be a patient's words or image.
    return SchemaViolation(
        f"{path or 'message'} must be {expected}", path, f"Invalid value at '{path}' ({proto_type})"
    )


def _unknown_name(name: str, path: str) -> str:
    where = f" at '{path}'" if path else ""
    return f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
