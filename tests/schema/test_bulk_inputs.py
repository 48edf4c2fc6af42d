"""A bulk input is built by our ``from_input`` hook (``graph_api.schema.inputs``): the objects the resolvers
get are the ones strawberry's own conversion builds."""
from __future__ import annotations

from typing import Any

from strawberry.types.arguments import convert_argument
from strawberry.types.base import get_object_definition

from graph_api.schema import inputs, schema_for
from graph_api.schema.enums import MediaType
from graph_api.settings import Settings


def test_the_hook_builds_what_strawberry_builds() -> None:
    schema = schema_for(Settings.load(lake="memory://bulk-inputs", auth="off"))
    registry, config = schema.schema_converter.scalar_registry, schema.config
    values: list[dict[str, Any]] = [
        {"titleId": "title_1", "mediaType": MediaType.VIDEO, "role": "source", "uri": "s3://a/b.mov",
         "checksum": "sha256:" + "0" * 64, "sizeBytes": 2**40, "durationSeconds": 1.5, "width": 1920, "height": 1080,
         "frameRate": 24.0, "technical": {"codec": "h264", "nested": [1, {"a": None}]}, "externalId": "e1"},
        {"titleId": "title_1", "mediaType": MediaType.AUDIO, "role": "stem", "uri": "u", "checksum": None,
         "technical": None},  # explicit nulls stay None, omitted fields stay UNSET
    ]
    definition = get_object_definition(inputs.AssetInput, strict=True)
    assert definition.from_input is not None
    hooked = [convert_argument(v, inputs.AssetInput, registry, config) for v in values]
    hook, definition.from_input = definition.from_input, None
    try:
        plain = [convert_argument(v, inputs.AssetInput, registry, config) for v in values]
    finally:
        definition.from_input = hook
    assert [vars(h) for h in hooked] == [vars(p) for p in plain]
    assert all(type(h) is inputs.AssetInput for h in hooked)
    assert [inputs.to_row(h) for h in hooked] == [inputs.to_row(p) for p in plain]
    assert inputs.to_row(hooked[1]) == {"title_id": "title_1", "media_type": "AUDIO", "role": "stem", "uri": "u",
                                        "checksum": None, "technical": None}
