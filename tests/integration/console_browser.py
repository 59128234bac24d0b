#!/usr/bin/python3
"""The console in headless Chromium (Selenium), for test_console_browser.sh.

Every check prints "ok N - what" (counted by the shell test); the first
failure raises, saves a screenshot named failure-*.png and exits non-zero.
A screenshot of each page goes to $SHOTS on every run. Raw HTTP checks
(forged POSTs, headers, an old cookie after logout) use urllib with the
browser's own cookie, so they test the same session the browser holds.
"""
import http.client
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException, NoSuchElementException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ["CONSOLE_URL"]
SIM_URL = os.environ["SIM_URL"]
SHOTS = os.environ["SHOTS"]
OPERATOR_PASSWORD = os.environ["OPERATOR_PASSWORD"]
VIEWER_PASSWORD = os.environ["VIEWER_PASSWORD"]
PARKED_ID = os.environ["PARKED_ID"]
PARKED_NUMBER = os.environ["PARKED_NUMBER"]
XSS_ID = os.environ["XSS_ID"]
XSS_TEXTS = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
             "'><svg onload=alert(3)>", "<img src=x onerror=alert(2)>",
             "<iframe src=javascript:alert(4)>"]

count = 0
driver = None


def ok(condition, what):
    global count
    count += 1
    if not condition:
        if driver is not None:
            driver.save_screenshot(os.path.join(SHOTS, "failure-%d.png" % count))
            print("# page at failure: %s" % driver.current_url)
            print("# " + driver.find_element(By.TAG_NAME, "body").text.replace("\n", "\n# "))
        print("not ok %d - %s" % (count, what))
        sys.exit(1)
    print("ok %d - %s" % (count, what))


def shot(name):
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def no_alert(where):
    try:
        alert = driver.switch_to.alert
        text = alert.text
        alert.dismiss()
        ok(False, "no script ran on %s (an alert said %r)" % (where, text))
    except NoAlertPresentException:
        ok(True, "no script ran on %s (no alert)" % where)


def page_replaced(old):
    """True once `old` left the document. Chromium reports a node of a page
    that is being replaced either as stale or, mid-navigation, as a generic
    inspector error ("Node with given id does not belong to the document");
    selenium's staleness_of only knows the first, so a fast machine failed."""
    def check(_driver):
        try:
            old.is_enabled()
            return False
        except WebDriverException:  # includes StaleElementReferenceException
            return True
    return check


def page_loaded(d):
    try:
        return d.execute_script("return document.readyState") == "complete"
    except WebDriverException:  # the script ran while the next page replaced this one
        return False


def click_and_wait(element):
    """Clicks a submit button and waits until the next page replaced this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 20).until(page_replaced(old))
    WebDriverWait(driver, 20).until(page_loaded)


def body_text():
    return driver.find_element(By.TAG_NAME, "body").text


def sign_in(user, password):
    driver.get(URL + "/login")
    driver.find_element(By.NAME, "username").clear()
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    click_and_wait(driver.find_element(By.CSS_SELECTOR, "form.login button"))


def sign_out():
    click_and_wait(driver.find_element(By.CSS_SELECTOR, "form.logout button"))


def session_cookie():
    cookie = driver.get_cookie("bm_console")
    return cookie["value"] if cookie else None


def raw(method, path, cookie=None, body=None):
    """One request without redirects: (status, headers, text)."""
    parsed = urllib.parse.urlparse(URL)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    headers = {}
    if cookie:
        headers["Cookie"] = "bm_console=" + cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    result = (response.status, response.getheaders(), text)
    conn.close()
    return result


def header(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def order_path(order_id):
    return "/orders/shop/" + urllib.parse.quote(order_id, safe="")


def check_headers_and_login_page():
    status, headers, text = raw("GET", "/login")
    ok(status == 200, "GET /login answers 200 without a session")
    csp = " ".join(header(headers, "Content-Security-Policy"))
    ok("default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src" not in csp,
       "the Content-Security-Policy allows no script at all: %s" % csp)
    ok(header(headers, "X-Frame-Options") == ["DENY"], "X-Frame-Options: DENY")
    ok(header(headers, "Referrer-Policy") == ["no-referrer"], "Referrer-Policy: no-referrer")
    cookies = " | ".join(header(headers, "Set-Cookie"))
    ok("HttpOnly" in cookies and "SameSite=Strict" in cookies and "Secure" not in cookies,
       "the login cookie is HttpOnly and SameSite=Strict (not Secure: secure_cookies is off)")
    status, headers, _ = raw("GET", "/")
    ok(status == 303 and header(headers, "Location") == ["/login"],
       "GET / without a session is a 303 to /login")
    status, _, _ = raw("GET", "/static/console.css")
    ok(status == 200, "the stylesheet is served without a session")


def check_failed_login():
    sign_in("olga", "not-the-password")
    text = body_text()
    ok("Sign-in failed: wrong user name or password." in text,
       "a wrong password says sign-in failed without saying which part was wrong")
    shot("01-login-failed")
    sign_in("nobody-at-all", "not-the-password")
    ok("Sign-in failed: wrong user name or password." in body_text(),
       "an unknown user gets the very same sentence")


def check_overview():
    sign_in("olga", OPERATOR_PASSWORD)
    ok(driver.current_url.rstrip("/") == URL, "olga is signed in and on the overview")
    cookie = driver.get_cookie("bm_console")
    ok(cookie is not None and cookie["httpOnly"] and cookie.get("sameSite") == "Strict",
       "the session cookie is HttpOnly and SameSite=Strict")
    text = body_text()
    ok("Connection shop" in text and "needs_attention" in text and "Rate budget" in text
       and "Last reconcile" in text and "Oldest unsynced order" in text and "Paused" in text
       and "spool" in text, "the overview shows states, oldest, budget, pause, reconcile, spool")
    link = driver.find_element(By.CSS_SELECTOR,
                               "a[href^='/orders?state=needs_attention&connection=shop']")
    ok(link.text == "1", "the overview counts one parked order (%s)" % link.text)
    shot("02-overview")
    no_alert("the overview")


def check_find_parked():
    driver.get(URL + "/orders")
    box = driver.find_element(By.NAME, "q")
    box.send_keys(PARKED_NUMBER)
    click_and_wait(driver.find_element(By.CSS_SELECTOR, "form.filters button"))
    rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-order-id]")
    ok(len(rows) == 1 and rows[0].get_attribute("data-order-id") == PARKED_ID,
       "searching the order number finds exactly the parked order")
    row_text = rows[0].text
    ok("needs_attention" in row_text and "tax rate" in row_text and "13" in row_text,
       "its row shows the state and the reason: %s" % row_text.replace("\n", " / "))
    ok("press Retry" in row_text, "its row says what to do")
    shot("03-orders-search")
    driver.get(URL + "/orders?state=needs_attention")
    ids = [r.get_attribute("data-order-id")
           for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-order-id]")]
    ok(ids == [PARKED_ID], "the needs_attention filter lists only the parked order")
    click_and_wait(driver.find_element(By.LINK_TEXT, PARKED_NUMBER))
    ok(driver.current_url.endswith(order_path(PARKED_ID)), "its link opens the order's story")


def check_story_and_retry():
    text = body_text()
    ok("Needs attention" in text and "tax rate" in text, "the story shows the parked reason")
    ok("Deliveries (1)" in text and "Audit history" in text and "Moneybird calls" in text,
       "the story shows deliveries, Moneybird calls and the audit history")
    ok("EUR 113.00" in text, "money is shown with its currency")
    buttons = driver.find_elements(By.XPATH, "//button[normalize-space()='Retry']")
    ok(len(buttons) == 1, "an operator sees a Retry button")
    shot("04-order-parked")
    # The cause fixed where a bookkeeper fixes it: the tax rate made in Moneybird.
    request = urllib.request.Request(SIM_URL + "/_sim/tax_rates", method="POST",
                                     data=json.dumps({"name": "BTW 13%",
                                                      "percentage": "13.0"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        ok(response.status == 201, "the missing 13 % tax rate is created in the simulator")
    click_and_wait(buttons[0])
    ok(driver.current_url.endswith(order_path(PARKED_ID)), "Retry returns to the order")
    state = ""
    for _ in range(100):
        driver.get(URL + order_path(PARKED_ID))
        state = driver.find_element(By.CSS_SELECTOR, "dl.facts .state").text
        if state in ("synced", "reconciled"):
            break
        time.sleep(0.2)
    ok(state in ("synced", "reconciled"), "after Retry the order becomes synced (%s)" % state)
    text = body_text()
    ok("console:olga" in text, "the audit history names console:olga")
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "dl.facts a")]
    ok(any("/sales_invoices/" in h for h in links) and any("/contacts/" in h for h in links),
       "the Moneybird invoice and contact ids link into Moneybird")
    ok(not driver.find_elements(By.XPATH, "//button[normalize-space()='Retry']"),
       "a synced order has no Retry button")
    shot("05-order-synced")


def check_xss():
    driver.get(URL + "/orders?q=" + urllib.parse.quote(XSS_ID))
    no_alert("the order list with HTML in buyer fields")
    rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-order-id]")
    ok(len(rows) == 1, "the order with HTML in its fields is listed")
    ok(XSS_TEXTS[0] in rows[0].text and XSS_TEXTS[1] in rows[0].text,
       "the buyer's name appears literally as text in the list")
    ok(not driver.find_elements(By.CSS_SELECTOR, "main img, main svg, main iframe, main script"),
       "no element was made from the buyer's text in the list")
    shot("06-orders-xss")
    driver.get(URL + order_path(XSS_ID))
    no_alert("the story of the order with HTML in its fields")
    text = body_text()
    for needle in XSS_TEXTS:
        ok(needle in text, "%r appears literally on the order page" % needle)
    ok(not driver.find_elements(By.CSS_SELECTOR, "main img, main svg, main iframe, main script"),
       "no element was made from the order's text on its page")
    ok(driver.execute_script("return typeof window.__bm_xss") == "undefined",
       "no injected script defined anything")
    shot("07-order-xss")


def check_forged_posts():
    cookie = session_cookie()
    path = order_path(XSS_ID) + "/retry"
    status, _, text = raw("POST", path, cookie, "")
    ok(status == 403, "a POST without a CSRF token is refused with 403 (%d)" % status)
    status, _, _ = raw("POST", path, cookie, "csrf=" + "0" * 64)
    ok(status == 403, "a POST with a wrong CSRF token is refused with 403 (%d)" % status)
    status, _, _ = raw("POST", "/reconcile", cookie, "connection=shop")
    ok(status == 403, "a reconcile POST without a token is refused with 403")
    status, _, _ = raw("POST", "/logout", cookie, "")
    ok(status == 403, "even logout needs the token")
    status, _, _ = raw("POST", "/login", None, "username=olga&password=" +
                       urllib.parse.quote(OPERATOR_PASSWORD))
    ok(status == 403, "a sign-in POST without the login form's token is refused with 403")


def check_reconcile():
    driver.get(URL + "/reconcile")
    shot("08-reconcile-before")
    click_and_wait(driver.find_element(By.CSS_SELECTOR, "form.reconcile button"))
    ok("The reconciliation was started" in body_text(), "an operator starts a reconciliation")
    found = False
    for _ in range(100):
        driver.get(URL + "/reconcile")
        rows = driver.find_elements(By.CSS_SELECTOR, "table.runs tbody tr")
        if rows and "console" in rows[0].text and "done" in rows[0].text:
            found = True
            break
        time.sleep(0.2)
    ok(found, "the run started from the console is listed as done")
    shot("09-reconcile-after")


def check_logout():
    old = session_cookie()
    sign_out()
    ok(driver.current_url.endswith("/login"), "logout returns to the sign-in page")
    status, headers, _ = raw("GET", "/", old)
    ok(status == 303 and header(headers, "Location") == ["/login"],
       "the old session cookie no longer opens a page")
    driver.get(URL + "/orders")
    ok(driver.current_url.endswith("/login"), "the browser is signed out")


def check_viewer():
    sign_in("vera", VIEWER_PASSWORD)
    ok("vera (viewer)" in body_text(), "vera is signed in as a viewer")
    driver.get(URL + "/orders?state=needs_attention")
    # Make one parked order for the viewer to see: none is left, so use the XSS order's page.
    driver.get(URL + order_path(XSS_ID))
    ok(not driver.find_elements(By.XPATH, "//button[normalize-space()='Retry']"),
       "a viewer sees no Retry button")
    token = driver.find_element(By.NAME, "csrf").get_attribute("value")
    status, _, text = raw("POST", order_path(PARKED_ID) + "/retry", session_cookie(),
                          "csrf=" + token)
    ok(status == 403 and "Only an operator" in text,
       "a viewer's retry with a valid token is refused with 403")
    status, _, _ = raw("POST", "/reconcile", session_cookie(), "csrf=" + token + "&connection=shop")
    ok(status == 403, "a viewer cannot start a reconciliation (403)")
    driver.get(URL + "/reconcile")
    ok(not driver.find_elements(By.CSS_SELECTOR, "form.reconcile"),
       "a viewer sees no reconcile button")
    shot("10-viewer-reconcile")
    sign_out()


def check_rate_limit():
    for _ in range(5):
        sign_in("rita", "wrong-password-here")
    sign_in("rita", VIEWER_PASSWORD)
    ok("Too many failed sign-ins" in body_text(),
       "after 5 failures even the right password is refused, with a clear message")
    shot("11-login-throttled")
    sign_in("olga", OPERATOR_PASSWORD)
    ok("olga (operator)" in body_text(), "another user from the same address still signs in")
    sign_out()


def main():
    global driver
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    try:
        check_headers_and_login_page()
        driver.get(URL + "/login")
        shot("00-login")
        check_failed_login()
        check_overview()
        check_find_parked()
        check_story_and_retry()
        check_xss()
        check_forged_posts()
        check_reconcile()
        check_logout()
        check_viewer()
        check_rate_limit()
    finally:
        driver.quit()
    print("# %d browser checks passed; screenshots in %s" % (count, SHOTS))


if __name__ == "__main__":
    main()
