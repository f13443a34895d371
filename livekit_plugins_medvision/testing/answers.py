"""The messages of one answer, in the order the service sends them."""

from __future__ import annotations

from google.genai import types

from .script import OUTPUT_AUDIO_MIME_TYPE, Reply

__all__ = ["AUDIO_CHUNK_BYTES", "audio_bytes", "reply_messages"]

AUDIO_CHUNK_BYTES = 9_600
"""0.1 s of 24 kHz 16-bit mono per ``modelTurn`` message."""


def audio_bytes(message: types.LiveServerMessage) -> int:
    """Return the bytes of audio a server message carries."""
    content = message.server_content
    if content is None or content.model_turn is None:
        return 0
    return sum(
        len(part.inline_data.data or b"")
        for part in content.model_turn.parts or []
        if part.inline_data is not None
    )


def reply_messages(
    reply: Reply, audio: bytes, transcribe: bool, usage: types.UsageMetadata
) -> tuple[list[types.LiveServerMessage], list[types.LiveServerMessage]]:
    """Return the messages of one answer, in the service's order, as (body, end).

    The body runs up to ``generationComplete``; the end is ``turnComplete`` and the usage.
    """
    contents: list[types.LiveServerContent] = []
    if reply.input_transcription is not None:
        contents.append(
            types.LiveServerContent(
                input_transcription=types.Transcription(text=reply.input_transcription)
            )
        )
    with_usage = usage if reply.usage_placement == "with" else None
    if reply.tool_calls:
        # The model now waits for the tool response: the turn goes on after it.
        final = types.LiveServerMessage(
            tool_call=types.LiveServerToolCall(function_calls=list(reply.tool_calls)),
            usage_metadata=with_usage,
        )
    else:
        for start in range(0, len(audio), AUDIO_CHUNK_BYTES):
            chunk = audio[start : start + AUDIO_CHUNK_BYTES]
            contents.append(
                _model_turn(types.Part.from_bytes(data=chunk, mime_type=OUTPUT_AUDIO_MIME_TYPE))
            )
        if audio and transcribe and reply.text:
            contents.append(
                types.LiveServerContent(output_transcription=types.Transcription(text=reply.text))
            )
        elif not audio and reply.text:
            contents.append(_model_turn(types.Part(text=reply.text)))
        contents.append(types.LiveServerContent(generation_complete=True))
        final = types.LiveServerMessage(
            server_content=types.LiveServerContent(turn_complete=True), usage_metadata=with_usage
        )
    body = [types.LiveServerMessage(server_content=content) for content in contents]
    usage_message = types.LiveServerMessage(usage_metadata=usage)
    if reply.usage_placement == "before":
        return body, [usage_message, final]
    if reply.usage_placement == "with":
        return body, [final]
    return body, [final, usage_message]


def _model_turn(part: types.Part) -> types.LiveServerContent:
    return types.LiveServerContent(model_turn=types.Content(role="model", parts=[part]))
