"""``aftercare staff token NAME``: the token is the last line, stored hashed, revocable."""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.cli import main
from bot.storage import api_tokens, make_engine, make_session_factory


def test_a_token_is_printed_last_stored_hashed_and_revoked(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'var' / 'aftercare.db'}"
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password-1\n"))
    assert main(["staff", "add", "nurse", "--role", "reviewer", "--password-stdin"]) == 0
    capsys.readouterr()

    assert main(["staff", "token", "nurse"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith(api_tokens.TOKEN_PREFIX) and len(token) > 40

    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with factory.begin() as session:
            stored = session.execute(select(api_tokens.ApiToken.token_hash)).scalars().all()
            assert token not in stored and len(stored) == 1
            assert api_tokens.staff_for_token(session=session, token=token).username == "nurse"
        assert main(["staff", "token", "nurse", "--list"]) == 0
        assert "live" in capsys.readouterr().out
        assert main(["staff", "token", "nurse", "--revoke"]) == 0
        with factory.begin() as session:
            assert api_tokens.staff_for_token(session=session, token=token) is None
        assert main(["staff", "token", "nobody"]) == 1
    finally:
        engine.dispose()
