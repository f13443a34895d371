"""Wait on the server, not on the clock: until a statement is running on another connection."""

import asyncpg

# Polls on the server. pg_stat_activity is read once per transaction unless the snapshot is
# cleared, and a DO block is one transaction: without the clear it would never see a change.
_WAIT = """
DO $$ BEGIN
    WHILE NOT EXISTS (
        SELECT FROM pg_stat_activity
        WHERE state = 'active' AND pid <> pg_backend_pid()
          AND strpos(query, current_setting('medvision_test.marker')) > 0
    ) LOOP
        PERFORM pg_sleep(0.01);
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
END $$"""


async def wait_until_running(dsn: str, marker: str) -> None:
    """Return once a statement containing ``marker`` is running on the server."""
    # the marker travels as a setting, so it is a parameter and not spliced into the DO block
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute("SELECT set_config('medvision_test.marker', $1, false)", marker)
        await admin.execute(_WAIT)
    finally:
        await admin.close()
