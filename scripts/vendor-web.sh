#!/usr/bin/env bash
# Vendor the front-end libraries of the web pages from the npm registry (no CDN at run time).
# Usage: scripts/vendor-web.sh   (needs npm and network access; the result is committed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/src/territoria/web/static/vendor"
LEAFLET_VERSION="1.9.4"
ECHARTS_VERSION="5.6.0"
MARKERCLUSTER_VERSION="1.5.3"
SWAGGER_UI_VERSION="5.36.0"
REDOC_VERSION="2.5.4"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

vendor_leaflet() {
    local dest="$VENDOR/leaflet"
    (cd "$tmp" && npm pack --silent "leaflet@$LEAFLET_VERSION" >/dev/null)
    local tarball="$tmp/leaflet-$LEAFLET_VERSION.tgz"
    tar -xzf "$tarball" -C "$tmp"
    rm -rf "$dest"
    mkdir -p "$dest/images"
    cp "$tmp/package/dist/leaflet.js" "$tmp/package/dist/leaflet.css" "$dest/"
    cp "$tmp/package/dist/images/"* "$dest/images/"
    cp "$tmp/package/LICENSE" "$dest/LICENSE"
    local tarball_sha
    tarball_sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
    {
        echo "# Vendored front-end files"
        echo
        echo "Fetched by \`scripts/vendor-web.sh\` with \`npm pack\` from the npm registry; do not edit by hand."
        echo
        echo "| package | version | licence | source |"
        echo "|---|---|---|---|"
        echo "| leaflet | $LEAFLET_VERSION | BSD-2-Clause | npm \`leaflet@$LEAFLET_VERSION\` (tarball sha256 \`$tarball_sha\`) |"
        echo
        echo "## sha256"
        echo
        echo '```'
        (cd "$dest" && find . -type f ! -name VERSIONS.md | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum)
        echo '```'
    } >"$dest/VERSIONS.md"
    echo "leaflet $LEAFLET_VERSION -> ${dest#"$ROOT"/}"
}

# Apache ECharts: only the minified full build and its licence files. The file sits directly in
# vendor/echarts/ (not in a dist/ folder, which .gitignore leaves out).
vendor_echarts() {
    local dest="$VENDOR/echarts"
    (cd "$tmp" && npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null)
    local tarball="$tmp/echarts-$ECHARTS_VERSION.tgz"
    mkdir -p "$tmp/echarts"
    tar -xzf "$tarball" -C "$tmp/echarts"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$tmp/echarts/package/dist/echarts.min.js" "$tmp/echarts/package/LICENSE" "$tmp/echarts/package/NOTICE" "$dest/"
    local tarball_sha
    tarball_sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
    {
        echo "# Apache ECharts $ECHARTS_VERSION"
        echo
        echo "Version $ECHARTS_VERSION, from the npm registry: \`npm pack echarts@$ECHARTS_VERSION\`"
        echo "(https://registry.npmjs.org/echarts/-/echarts-$ECHARTS_VERSION.tgz, tarball sha256 \`$tarball_sha\`)."
        echo "Fetched by \`scripts/vendor-web.sh\`; do not edit by hand. Licence: Apache-2.0 (LICENSE, NOTICE)."
        echo
        echo '```'
        (cd "$dest" && find . -type f ! -name README.md | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum)
        echo '```'
    } >"$dest/README.md"
    echo "echarts $ECHARTS_VERSION -> ${dest#"$ROOT"/}"
}

# Leaflet.markercluster: the asset layers of the maps group their points into clusters.
vendor_markercluster() {
    local dest="$VENDOR/leaflet.markercluster"
    (cd "$tmp" && npm pack --silent "leaflet.markercluster@$MARKERCLUSTER_VERSION" >/dev/null)
    local tarball="$tmp/leaflet.markercluster-$MARKERCLUSTER_VERSION.tgz"
    mkdir -p "$tmp/markercluster"
    tar -xzf "$tarball" -C "$tmp/markercluster"
    local pkg="$tmp/markercluster/package"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$pkg/dist/leaflet.markercluster.js" "$pkg/dist/MarkerCluster.css" "$pkg/dist/MarkerCluster.Default.css" "$dest/"
    cp "$pkg/MIT-LICENCE.txt" "$dest/LICENSE"
    # The source map is not shipped: drop the comment that points to it (no 404 in the browser tools).
    sed -i '/^\/\/# sourceMappingURL=/d' "$dest/leaflet.markercluster.js"
    local tarball_sha
    tarball_sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
    {
        echo "# Leaflet.markercluster $MARKERCLUSTER_VERSION"
        echo
        echo "From the npm registry: \`npm pack leaflet.markercluster@$MARKERCLUSTER_VERSION\`"
        echo "(tarball sha256 \`$tarball_sha\`). Fetched by \`scripts/vendor-web.sh\`; do not edit by hand."
        echo "Licence: MIT (LICENSE). The source-map comment is removed from leaflet.markercluster.js."
        echo
        echo '```'
        (cd "$dest" && find . -type f ! -name VERSIONS.md | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum)
        echo '```'
    } >"$dest/VERSIONS.md"
    echo "leaflet.markercluster $MARKERCLUSTER_VERSION -> ${dest#"$ROOT"/}"
}

# The interactive API docs (/api/docs, /api/redoc) without any CDN: Swagger UI's bundle, styles and
# favicon, and ReDoc's standalone bundle, each with its licence files.
vendor_docs() {
    local name="$1" version="$2" dest="$VENDOR/$3"
    shift 3
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
    local tarball="$tmp/$name-$version.tgz"
    mkdir -p "$tmp/$name"
    tar -xzf "$tarball" -C "$tmp/$name"
    rm -rf "$dest"
    mkdir -p "$dest"
    local file
    for file in "$@"; do
        cp "$tmp/$name/package/$file" "$dest/"
    done
    local tarball_sha
    tarball_sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
    {
        echo "# $name $version"
        echo
        echo "Version $version, from the npm registry: \`npm pack $name@$version\`"
        echo "(https://registry.npmjs.org/$name/-/$name-$version.tgz, tarball sha256 \`$tarball_sha\`)."
        echo "Fetched by \`scripts/vendor-web.sh\`; do not edit by hand. Licence: $LICENCE (LICENSE and the bundle's licence notes)."
        echo
        echo '```'
        (cd "$dest" && find . -type f ! -name README.md | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum)
        echo '```'
    } >"$dest/README.md"
    echo "$name $version -> ${dest#"$ROOT"/}"
}

vendor_leaflet
vendor_echarts
vendor_markercluster
LICENCE="Apache-2.0" vendor_docs swagger-ui-dist "$SWAGGER_UI_VERSION" swagger-ui \
    swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE
LICENCE="MIT" vendor_docs redoc "$REDOC_VERSION" redoc \
    bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE
