#!/usr/bin/env bash
# Mesa's software Vulkan driver (lavapipe) for the WebGPU tests (docs/GPU.md): onnxruntime-node's
# built-in WebGPU EP needs Mesa 24 or newer, which Debian 12 has only in bookworm-backports (its
# own Mesa 22.3 lacks features the EP needs). The backports suite is added on the same mirror as
# the machine's own Debian sources. Prints what it installed; fails loudly if it cannot.
set -euo pipefail
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  else
    uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { echo "install-webgpu: no Debian mirror found in the apt sources" >&2; exit 1; }
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > /etc/apt/sources.list.d/sideways-backports.sources
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers > /dev/null
else
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers > /dev/null
fi
dpkg-query -W -f='install-webgpu: ${Package} ${Version}\n' mesa-vulkan-drivers
