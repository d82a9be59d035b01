// The npm bittorrent-tracker package's Client, bundled for Chromium by
// tests/it/e2e/webtorrent.mjs (which calls it `TrackerClient` in the page).
import Client from 'bittorrent-tracker'

globalThis.TrackerClient = Client
