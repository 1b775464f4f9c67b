from pytracking import env_info


def test_report_and_self_check_pass(capsys):
    assert env_info.main([]) == 0
    out = capsys.readouterr().out
    for section in ("Packages", "Devices", "Image decoders", "Settings", "Self-check"):
        assert f"\n{section}\n" in out
    assert f"{len(env_info.CHECKS)} passed, 0 failed" in out


def test_failing_check_gives_exit_status_1(monkeypatch, capsys):
    def broken() -> str:
        raise AssertionError("simulated")

    monkeypatch.setitem(env_info.CHECKS, "broken", broken)
    assert env_info.main([]) == 1
    out = capsys.readouterr().out
    assert "broken" in out and "FAIL  AssertionError: simulated" in out


def test_no_check_flag_only_reports(capsys):
    assert env_info.main(["--no-check"]) == 0
    assert "Self-check" not in capsys.readouterr().out
