#!/usr/bin/env bash
# pdflatex with booktabs, for the test that compiles a paper table's table.tex with the characters
# LaTeX reserves (test/results-tables.test.ts); it skips, saying why, where pdflatex is missing.
# Cost: on the development machine (apt lists already fetched) the install took 34 s; the test
# about 1 s. Skips apt when pdflatex and booktabs.sty are already there.
set -euo pipefail
source "$(dirname "$0")/../lib/log.sh"
if command -v pdflatex >/dev/null && kpsewhich booktabs.sty >/dev/null 2>&1; then
  ci_say "pdflatex already installed: $(pdflatex --version | head -n 1)"
  exit 0
fi
ci_apt_install texlive-latex-base texlive-latex-recommended
kpsewhich booktabs.sty >/dev/null || ci_fail "texlive installed but booktabs.sty is not found"
ci_say "installed $(pdflatex --version | head -n 1)"
