"""The command line as a newcomer meets it: no store made by accident, --store anywhere, formats from file
names, help and defaults for every option, usage errors exit 2, one way of writing numbers."""

from __future__ import annotations

import argparse
import json
import socket
import time
from pathlib import Path

import pytest

from cli import _commands, build_parser, main
from tests.test_cli import run


@pytest.mark.parametrize("argv", [["status"], ["recommend", "peers", "amsterdam"], ["list", "cities"],
                                  ["show", "amsterdam"], ["groups", "bhcli-class-1"], ["export", "out.jsonl"],
                                  ["token", "create", "--role", "viewer", "--name", "x"]])
def test_commands_that_only_read_never_create_a_store(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "misspelt" / "citypeer.db"
    code, _, err = run(capsys, "--store", f"sqlite:///{missing}", *argv)
    assert code == 2 and f"no store at '{missing}'" in err
    assert "citypeers seed" in err and "citypeers import BUNDLE" in err and "citypeers serve" in err
    assert list(tmp_path.iterdir()) == []  # neither the file nor its folder


def test_seed_and_import_may_create_one(capsys, tmp_path):
    db = tmp_path / "new" / "made.db"
    assert run(capsys, "seed", "--store", f"sqlite:///{db}")[0] == 0 and db.exists()
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "cities.csv").write_text("id,name,country\nriga,Riga,LV\n", encoding="utf-8")
    other = tmp_path / "other.db"
    assert run(capsys, "import", str(tmp_path / "bundle"), "--store", f"sqlite:///{other}")[0] == 0 and other.exists()


def test_import_of_a_missing_bundle_creates_no_store(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default store, citypeers.db, would land here
    code, _, err = run(capsys, "import", str(tmp_path / "nope"))
    assert code == 2 and "no bundle at" in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("cities", "extra"), [("id,name,country\nriga,Riga,LV\n", ["--dry-run"]),
                                               ("id,name,country\nriga,Riga,ZZ\n", [])], ids=["dry-run", "bad"])
def test_an_import_that_writes_nothing_leaves_no_new_store(capsys, tmp_path, cities, extra):
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "cities.csv").write_text(cities, encoding="utf-8")
    code, _, _ = run(capsys, "import", str(tmp_path / "bundle"), *extra, "--store", f"sqlite:///{tmp_path / 'new.db'}")
    assert code == (0 if extra else 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no new.db, new.db-wal or new.db-shm


def test_a_failed_import_keeps_a_store_that_was_there(capsys, tmp_path, seeded_db):
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "cities.csv").write_text("id,name,country\nriga,Riga,ZZ\n", encoding="utf-8")
    assert run(capsys, "import", str(tmp_path / "bundle"), "--store", seeded_db)[0] == 2
    assert run(capsys, "status", "--store", seeded_db)[1].startswith(f"{seeded_db}: data version 1; 24 City")


def test_an_empty_store_is_reported_as_empty(capsys, tmp_path):
    from graph.store import open_store

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()
    code, out, _ = run(capsys, "status", "--store", url)
    assert code == 0 and "empty" in out and "citypeers seed" in out
    assert "`citypeers serve --seed-if-empty`" in out and "`citypeers serve`" not in out  # serve alone leaves it empty


def test_store_is_accepted_before_or_after_the_command(capsys, seeded_db):
    before = run(capsys, "--store", seeded_db, "status")
    after = run(capsys, "status", "--store", seeded_db)
    deep = run(capsys, "recommend", "peers", "amsterdam", "--k", "1", "--store", seeded_db)
    assert before == after and before[0] == 0 and "24 City" in before[1]
    assert deep[0] == 0 and "Riga" in deep[1]


@pytest.mark.parametrize(("name", "check"), [
    ("x.jsonl", lambda p: p.is_file() and json.loads(p.read_text().splitlines()[0])["kind"] == "City"),
    ("graph.graphml", lambda p: p.is_file() and "<graphml" in p.read_text()),
    ("folder", lambda p: (p / "cities.csv").is_file()),
])
def test_export_takes_the_format_from_the_file_name(capsys, seeded_db, tmp_path, name, check):
    code, out, _ = run(capsys, "export", str(tmp_path / name), "--store", seeded_db)
    assert code == 0 and check(tmp_path / name), out


def test_the_format_suffix_is_read_in_any_case(capsys, seeded_db, tmp_path):
    code, out, _ = run(capsys, "export", str(tmp_path / "x.JSONL"), "--store", seeded_db)
    assert code == 0 and "wrote a jsonl bundle" in out and (tmp_path / "x.JSONL").is_file()
    assert json.loads((tmp_path / "x.JSONL").read_text().splitlines()[0])["kind"] == "City"


@pytest.mark.parametrize(("name", "fmt", "message"), [
    ("bundle/cities.csv", "jsonl", "is a file; a jsonl bundle is written into a folder: give a folder's name or a "
                                   "name ending in .jsonl"),
    ("bundle/cities.csv", "csv", "is a file; a csv bundle is written into a folder: give a folder's name"),
    ("dir.jsonl", "jsonl", "is a folder; a name ending in .jsonl is written as one file: give another"),
])
def test_export_over_something_of_another_kind_says_what_is_wrong(capsys, seeded_db, tmp_path, name, fmt, message):
    run(capsys, "export", str(tmp_path / "bundle"), "--store", seeded_db)
    (tmp_path / "dir.jsonl").mkdir()
    before = {p: p.read_bytes() for p in (tmp_path / "bundle").iterdir()}
    code, _, err = run(capsys, "export", str(tmp_path / name), "--format", fmt, "--store", seeded_db)
    assert code == 2 and err == f"citypeers: error: '{tmp_path / name}' {message}\n"
    assert {p: p.read_bytes() for p in (tmp_path / "bundle").iterdir()} == before
    assert list((tmp_path / "dir.jsonl").iterdir()) == []


@pytest.mark.parametrize(("argv", "option"), [
    (["export", "{notes}/bundle"], ""), (["export", "{notes}/g.graphml"], ""),
    (["generate", "{notes}/syn", "--cities", "10"], ""), (["batch", "peers", "--out", "{notes}/x.csv"], "--out "),
    (["batch", "similar", "--out", "{notes}/x.csv"], "--out "),
    (["seed", "--store", "sqlite:///{notes}/new.db"], "the store "),
])
def test_an_output_under_a_file_is_refused_naming_that_file(capsys, seeded_db, tmp_path, argv, option):
    """`--out notes.txt/x.csv`: said before any work as one line naming the file in the way (it was "File exists:
    notes.txt" when the output was written, after the work; "Not a directory" for a store)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("mine", encoding="utf-8")
    argv = [a.format(notes=notes) for a in argv]
    code, out, err = run(capsys, *argv, *([] if argv[0] == "seed" else ["--store", seeded_db]))
    path = next(a for a in argv if str(notes) in a).removeprefix("sqlite:///")
    assert (code, out) == (2, "")
    assert err == (f"citypeers: error: {option}{path!r} cannot be made: {str(notes)!r} is a file, not a folder; "
                   "give a path in a folder\n")
    assert notes.read_text(encoding="utf-8") == "mine"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc: a folder no one, root too, can write in")
@pytest.mark.parametrize(("argv", "option"), [
    (["export", "/proc/bundle"], ""), (["export", "/proc/x.jsonl"], ""), (["export", "/proc/g.graphml"], ""),
    (["generate", "/proc/syn", "--cities", "10"], ""), (["batch", "peers", "--out", "/proc/x.csv"], "--out "),
    (["batch", "similar", "--out", "/proc/x.csv"], "--out "),
])
def test_an_output_in_a_folder_that_cannot_be_written_is_refused_naming_it(capsys, seeded_db, argv, option):
    """`--out /proc/x.csv`: said before any work as one line naming the path and the folder; it was "No such file
    or directory: /proc/.x.csv.partial-2f3be442" after the work, naming a scratch file the user never gave."""
    code, out, err = run(capsys, *argv, "--store", seeded_db)
    path = next(a for a in argv if a.startswith("/proc"))
    assert (code, out) == (2, "")
    assert err == (f"citypeers: error: {option}{path!r} cannot be written: No such file or directory in '/proc'; "
                   "give a path in a folder you can write to\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["export", "{folder}", "--format", "gexf"], "'{folder}' is a folder; give the name of a file to write"),
    (["batch", "peers", "--out", "{folder}"], "--out '{folder}' is a folder; give the name of a file to write"),
    (["batch", "similar", "--out", "{folder}"], "--out '{folder}' is a folder; give the name of a file to write"),
    (["status", "--store", "sqlite:///{folder}"], "store URL 'sqlite:///{folder}' names a folder, not a SQLite file; "
                                                  "give a file's path, e.g. sqlite:///{folder}/citypeers.db"),
])
def test_a_folder_where_a_file_is_written_is_refused(capsys, seeded_db, tmp_path, argv, message):
    """It was "Is a directory: x.csv" after the work, or SQLite's "unable to open database file"."""
    folder = tmp_path / "lists.csv"
    folder.mkdir()
    code, out, err = run(capsys, *(a.format(folder=folder) for a in argv),
                         *([] if argv[0] == "status" else ["--store", seeded_db]))
    assert (code, out, err) == (2, "", f"citypeers: error: {message.format(folder=folder)}\n")
    assert list(folder.iterdir()) == []


def test_generate_refuses_a_folder_that_holds_files(capsys, tmp_path):
    old = tmp_path / "syn"
    old.mkdir()
    (old / "covers.csv").write_text("source,target\n", encoding="utf-8")
    code, _, err = run(capsys, "generate", str(old), "--cities", "50")
    assert code == 2 and err == f"citypeers: error: {old} already exists and is not an empty folder; give a new or " \
                                "empty folder\n"
    assert [p.name for p in old.iterdir()] == ["covers.csv"]
    (old / "covers.csv").unlink()  # an empty folder is fine
    assert run(capsys, "generate", str(old), "--cities", "50")[0] == 0 and (old / "cities.csv").is_file()


@pytest.mark.parametrize(("argv", "hint"), [
    (["generate", "{tmp}/syn.csv", "--cities", "10"], ""),
    (["data", "urbact", "--out", "{tmp}/urbact.jsonl"], " (--format jsonl writes bundle.jsonl in it)"),
])
def test_a_bundle_folder_named_like_a_file_is_refused(capsys, tmp_path, argv, hint):
    """`data urbact --out urbact.jsonl` made a folder of that name holding CSV files."""
    argv = [a.format(tmp=tmp_path) for a in argv]
    out = Path(argv[1] if argv[0] == "generate" else argv[3])
    code, _, err = run(capsys, *argv)
    assert (code, err) == (2, f"citypeers: error: {'--out ' if argv[0] == 'data' else ''}{out} is named like a "
                              f"{out.suffix} file, but a bundle is a folder of files; give a folder name such as "
                              f"{out.with_suffix('')}{hint}\n")
    assert list(tmp_path.iterdir()) == []


def _terminal() -> None:
    """Popen's preexec_fn: the child gets Ctrl-C as from a terminal. A runner started in the background without
    job control (`make test &` in a script) hands SIGINT down as ignored, and Python then leaves it ignored, so
    the SIGINT these tests send did nothing there (exit 0 instead of 130)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("name", "stop", "code", "said"), [
    ("bundle", "SIGINT", 130, "citypeers: interrupted\n"),
    ("bundle.jsonl", "SIGINT", 130, "citypeers: interrupted\n"),
    ("bundle", "SIGTERM", 143, "citypeers: stopped (SIGTERM)\n"),  # killed on the spot before: its temporary folder
    # graph files and batch lists were written in place: an empty or half-written file was left at the path
    ("graph.graphml", "SIGINT", 130, "citypeers: interrupted\n"),
    ("graph.gexf", "SIGTERM", 143, "citypeers: stopped (SIGTERM)\n"),
    # 100 peers a city: 300,000 rows, so that the signal lands while they are written (with 10, the 30,000 rows
    # were sometimes written whole, on a busy machine, before it came: exit 0)
    ("batch similar --k 100 --out {out}/similar.csv", "SIGINT", 130, "citypeers: interrupted\n"),
    ("batch peers --out {out}/peers.json", "SIGINT", 130, "citypeers: interrupted\n"),
])                                                                   # was left beside the path
def test_an_interrupted_export_leaves_no_bundle(tmp_path, name, stop, code, said):
    """Ctrl-C (a real SIGINT) or a SIGTERM while a 3,000-city store is written out: nothing at the path, nothing
    beside it."""
    import os
    import signal
    import subprocess
    import sys

    from graph.bundle import import_bundle
    from graph.store import open_store
    from graph.synthetic import generate_bundle

    generate_bundle(tmp_path / "syn", cities=3000, seed=1)
    with open_store(f"sqlite:///{tmp_path / 'big.db'}") as store:
        import_bundle(store, tmp_path / "syn")
    out = tmp_path / "out"
    out.mkdir()
    argv = name.format(out=out).split() if " " in name else ["export", str(out / name)]
    with subprocess.Popen([sys.executable, "-m", "cli", *argv, "--store", f"sqlite:///{tmp_path / 'big.db'}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=_terminal) as proc:
        deadline = time.monotonic() + 60
        while not any(out.iterdir()):  # the export has begun to write
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.002)
        os.kill(proc.pid, getattr(signal, stop))
        assert proc.wait(timeout=60) == code and proc.stderr.read() == said
    assert list(out.iterdir()) == []


def test_ctrl_c_while_the_command_starts_is_one_line_not_a_traceback(tmp_path):
    """A real SIGINT as the parser's modules load (scipy through graph.projection, most of a quarter of a second
    at start): it was a KeyboardInterrupt traceback. The audit hook only picks the moment the signal is sent."""
    import subprocess
    import sys

    code = ("import os, signal, sys\n"
            "sys.addaudithook(lambda event, args: event == 'import' and args[0] == 'graph.projection' and "
            "os.kill(os.getpid(), signal.SIGINT))\n"
            f"from cli import main\nsys.exit(main(['--store', 'sqlite:///{tmp_path / 'x.db'}', 'status']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          preexec_fn=_terminal)
    assert (proc.returncode, proc.stderr) == (130, "citypeers: interrupted\n")


def test_an_import_stopped_by_sigterm_leaves_no_new_store(tmp_path):
    """SIGTERM while a new store is being filled: the import stops as on Ctrl-C, and the store it created goes
    (Python's default ended the process on the spot, leaving an empty store that later commands took as real)."""
    import os
    import signal
    import subprocess
    import sys

    from graph.synthetic import generate_bundle

    generate_bundle(tmp_path / "syn", cities=3000, seed=1)
    db = tmp_path / "new.db"
    with subprocess.Popen([sys.executable, "-m", "cli", "--store", f"sqlite:///{db}", "import",
                           str(tmp_path / "syn"), "--no-tune"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as proc:
        deadline = time.monotonic() + 60
        while not db.exists():  # the store is created before the bundle is read
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 143 and proc.stderr.read() == "citypeers: stopped (SIGTERM)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn"]


def test_an_import_stopped_during_its_re_tune_keeps_the_new_store_it_said_was_imported(tmp_path):
    """SIGTERM after the import committed, while the weights are re-learned: the store it created and said it
    imported into stays (it was deleted, after "imported ..." was printed), and the user is told what is left."""
    import os
    import signal
    import subprocess
    import sys

    from graph.store import open_store
    from graph.synthetic import generate_bundle

    generate_bundle(tmp_path / "syn", cities=3000, seed=1)
    db = tmp_path / "new.db"
    with subprocess.Popen([sys.executable, "-m", "cli", "--store", f"sqlite:///{db}", "import",
                           str(tmp_path / "syn")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        line = proc.stderr.readline()  # the tune's first line comes after the import's commit
        assert "fitting signal weights" in line, line + proc.stderr.read()
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
        said, printed = proc.stderr.read(), proc.stdout.read()
    assert printed.startswith("imported ") and "data version 1" in printed
    assert said == ("the import is saved (data version 1); its matching weights were not re-learned: run "
                    "'citypeers tune'\ncitypeers: stopped (SIGTERM)\n")
    store = open_store(f"sqlite:///{db}")
    try:
        assert store.version() == 1 and store.count("City") == 3000
    finally:
        store.close()


def test_an_unknown_suffix_asks_for_format(capsys, seeded_db, tmp_path):
    code, _, err = run(capsys, "export", str(tmp_path / "x.xlsx"), "--store", seeded_db)
    assert code == 2 and "'x.xlsx'" not in err and "x.xlsx" in err and "--format" in err
    assert not (tmp_path / "x.xlsx").exists()


def _parsers():
    parser = build_parser()
    return [parser, *_commands(parser)]


def test_the_themes_of_example_in_the_help_finds_peers_on_the_seeds(capsys, seeded_db):
    """The cohort --themes-of names as its example has themes that the seeds' cities face (eu-digital-services
    covers five service areas no seeded city lists, so following that example found nothing)."""
    import re

    peers = next(p for p in _parsers() if p.prog == "citypeers recommend peers")
    action = next(a for a in peers._actions if "--themes-of" in a.option_strings)
    example = re.search(r"e\.g\. ([a-z0-9-]+)", action.help).group(1)
    city = {"bhcli-class-1": "gary", "eu-digital-services": "amsterdam"}[example]  # a member of it
    code, out, _ = run(capsys, "--store", seeded_db, "recommend", "peers", city, "--themes-of", example, "--k", "2")
    assert code == 0 and out.startswith(" 1. "), out


def test_every_option_and_argument_has_help_and_shows_its_default():
    for parser in _parsers():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            assert action.help, f"{parser.prog}: {action.dest} has no help"
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS, []):
                assert "default" in parser._get_formatter()._get_help_string(action), f"{parser.prog}: {action.dest}"
    serve = " ".join(next(p for p in _parsers() if p.prog.endswith(" serve")).format_help().split())
    assert "address to listen on (default 127.0.0.1)" in serve
    assert "port to listen on, 1 to 65535, or 0 for any free one (shown when it starts) (default 8000)" in serve


def test_recommend_help_describes_each_recommendation(capsys):
    with pytest.raises(SystemExit):
        main(["recommend", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for what in ("peer cities", "partner organisations", "people to meet", "cities working on a challenge"):
        assert what in text


@pytest.mark.parametrize("reuse", [False, True], ids=["plain", "like-uvicorn"])
def test_a_port_in_use_is_a_usage_error(capsys, tmp_path, reuse):
    with socket.socket() as taken:
        if reuse:  # as uvicorn listens: the probe's own SO_REUSEADDR must not let it through
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "serve", "--port", str(port), "--store", f"sqlite:///{tmp_path / 's.db'}")
    assert code == 2 and f"127.0.0.1:{port}" in err and "--port" in err


def test_serve_starts_again_at_once_on_the_port_it_just_left(tmp_path):
    """A stopped server's connections stay in TIME-WAIT on its port for a minute; uvicorn binds past them, and
    so must the check before it."""
    import subprocess
    import sys

    from tests.test_server import _get, _serve

    db = f"sqlite:///{tmp_path / 's.db'}"
    first, base = _serve(db)
    _get(base + "/healthz")  # the server closes this connection first: its side waits in TIME-WAIT
    first.terminate()
    first.wait(timeout=10)
    port = base.rsplit(":", 1)[1]
    again = subprocess.Popen([sys.executable, "-m", "cli", "--store", db, "serve", "--port", port],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert _get(base + "/healthz") == (200, '{"status":"ok"}')
                break
            except OSError:
                assert again.poll() is None, again.stderr.read()
                assert time.monotonic() < deadline, "the second server did not start"
                time.sleep(0.2)
    finally:
        again.terminate()
        again.wait(timeout=10)
        again.stderr.close()


@pytest.mark.parametrize(("host", "message"), [
    ("nonexistent.invalid", "--host 'nonexistent.invalid' is not a known host name or address"),
    ("192.0.2.1", "--host '192.0.2.1' is not an address of this machine"),  # TEST-NET-1: never a local address
])
def test_a_host_that_is_not_this_machine_is_blamed_not_the_port(capsys, tmp_path, host, message):
    code, _, err = run(capsys, "serve", "--host", host, "--store", f"sqlite:///{tmp_path / 's.db'}")
    assert code == 2 and err.startswith(f"citypeers: error: {message}") and "--port" not in err
    assert "127.0.0.1" in err and len(err.splitlines()) == 1


def test_token_messages_and_numbers_read_well(capsys, seeded_db, tmp_path):
    code, out, _ = run(capsys, "token", "create", "--role", "editor", "--name", "staff", "--store", seeded_db)
    assert code == 0 and out.startswith("created an editor token")
    code, out, _ = run(capsys, "generate", str(tmp_path / "syn"), "--cities", "1200")
    assert code == 0 and "1,200 cities" in out


def _on_a_terminal(argv: list[str]) -> str:
    """What `citypeers ARGV` writes to stderr when stderr is a terminal (a pseudo-terminal here)."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "cli", *argv], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    try:
        while chunk := os.read(master, 65536):
            chunks.append(chunk)
    except OSError:  # EIO: the command exited and closed the terminal
        pass
    finally:
        os.close(master)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize(("argv", "bar"), [
    (["batch", "peers", "--k", "2"], "ranking"),
    (["export", "{tmp}/bundle"], "exporting"),
    (["generate", "{tmp}/syn", "--cities", "2000"], "generating"),
])
def test_long_commands_show_a_progress_bar_on_a_terminal(seeded_db, tmp_path, argv, bar):
    shown = _on_a_terminal([a.format(tmp=tmp_path) for a in argv] + ["--store", seeded_db])
    assert f"{bar}: " in shown, shown


@pytest.mark.parametrize("url", ["bolt://127.0.0.1:1", "neo4j://127.0.0.1:1"])
def test_an_unreachable_server_is_one_line_that_ends_in_its_reason(url):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "cli", "status", "--store", url], capture_output=True, text=True,
                          timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1
    assert lines[0].startswith(f"citypeers: error: cannot reach the graph server at {url}: ")
    assert not lines[0].endswith(":") and "resolved to" not in lines[0]


def test_the_readme_command_table_lists_every_option():
    """Each command's row in the README's table names all its options (the report commands have a section of
    their own, "Reports")."""
    import itertools
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    for cell in re.findall(r"^\| (`citypeers .*?`) \| ", readme, re.M):  # "`citypeers data urbact\|gcom --out DIR`"
        for part in cell.strip("`").split("` / `"):
            words = list(itertools.takewhile(lambda w: re.fullmatch(r"[a-z\\|]+", w), part.split()))
            words = words if words[0] == "citypeers" else ["citypeers", *words]
            for name in itertools.product(*(w.split("\\|") for w in words)):
                for end in range(2, len(name) + 1):  # "citypeers list" for "citypeers list cities\|challenges"
                    rows.setdefault(" ".join(name[:end]), cell)
    for parser in _parsers()[1:]:
        if parser._subparsers is not None or parser.prog.startswith("citypeers report"):
            continue
        assert parser.prog in rows, f"{parser.prog} has no row in the README's command table"
        options = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
        missing = [o for o in options if o not in ("--help", "--store") and o not in rows[parser.prog]]
        assert not missing, f"{parser.prog}: {missing} not in its README row"
