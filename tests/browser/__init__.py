"""The browser tier: pages in a real browser, Debian's Chromium (/usr/bin/chromium, `deploy/browser.sh` installs it)
driven by Playwright, with axe-core's accessibility checks (vendored by `deploy/setup.sh` from services/web's npm pins).
"""
