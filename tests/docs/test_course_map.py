"""docs/course_map.md quotes, for each idea of the course, the line of code (or of its docstring) that
states it: every quote must stand, character for character, in the files its row names — so a change
to the code that leaves the map describing code that is no longer there fails here."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
COURSE_MAP = ROOT / "docs" / "course_map.md"


def rows():
    """(line number, [files], [quotes]) for every table row of the map that names Python files."""
    for number, line in enumerate(COURSE_MAP.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]  # "\|" is a | inside a cell
        if len(cells) < 3:
            continue
        files = re.findall(r"`([\w/.]+\.py)`", cells[1])
        if files:
            quotes = [quote.replace("\\|", "|") for quote in re.findall(r"`([^`]+)`", cells[2])]
            yield number, files, quotes


def test_the_map_has_its_rows():
    assert sum(len(quotes) for _, _, quotes in rows()) > 200


def test_every_quote_stands_in_the_files_its_row_names():
    missing = []
    for number, files, quotes in rows():
        paths = [ROOT / name for name in files]
        absent = [name for name, path in zip(files, paths) if not path.is_file()]
        if absent:
            missing.append(f"line {number}: no file {', '.join(absent)}")
            continue
        sources = "\n".join(path.read_text(encoding="utf-8") for path in paths)
        missing += [f"line {number}: {quote!r} is not in {', '.join(files)}"
                    for quote in quotes if quote not in sources]
    assert not missing, "docs/course_map.md quotes code that is not there (update the map):\n" + "\n".join(missing)
