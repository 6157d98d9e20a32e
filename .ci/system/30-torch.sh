#!/usr/bin/env bash
# Debian's PyTorch (1.13 on bookworm) for the peer-benchmark tests (test/bench-peer.test.ts): the
# agreement of our BP with PyTorch's float32 and float64 runs on the small zoo models, and the
# near-tie detection of bench/torch_peer.py. They skip, saying why, where torch is missing.
# python3-torch installs into /usr/bin/python3; .ci/run sets SIDEWAYS_PYTHON to it for the tests.
# Cost: on the development machine the same install (with recommends: 234 packages, 185 MB of
# .debs) unpacked in 47 s; the tests it enables take about 30 s. Skips apt when /usr/bin/python3
# already imports torch, numpy and yaml (a developer's machine, a warm CI image).
set -euo pipefail
source "$(dirname "$0")/../lib/log.sh"
if /usr/bin/python3 -c "import torch, numpy, yaml" 2>/dev/null; then
  ci_say "PyTorch already installed: torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
  exit 0
fi
ci_apt_install python3-torch python3-numpy python3-yaml
/usr/bin/python3 -c "import torch, numpy, yaml" || ci_fail "python3-torch installed but /usr/bin/python3 cannot import torch, numpy and yaml"
ci_say "installed torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
