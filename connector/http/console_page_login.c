#include "console_internal.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "password.h"
#include "random_token.h"

/* Failed logins allowed per user and per address in the window. */
#define LOGIN_WINDOW_SECONDS 900
#define LOGIN_FAILURES_PER_USER 5
#define LOGIN_FAILURES_PER_ADDRESS 20

/* A password hash to verify against when the user does not exist, so an
 * unknown name costs as much time as a wrong password. */
static const char decoy_hash[] = "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA==$"
                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

static void set_cookie(struct console_request *req, struct console_reply *reply, size_t slot,
                       const char *name, const char *value, int max_age)
{
	snprintf(reply->cookie[slot], sizeof(reply->cookie[slot]),
	         "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", name, value, max_age,
	         req->console->config->console_secure_cookies ? "; Secure" : "");
}

/* The login form; its CSRF token is a double-submit cookie (there is no
 * session yet). */
static int login_form(struct console_request *req, struct console_reply *reply, const char *message,
                      const char *username)
{
	const char *cookies = MHD_lookup_connection_value(req->mhd, MHD_HEADER_KIND, "Cookie");
	struct dynbuf *out = &reply->html;
	char token[RANDOM_TOKEN_HEX + 8];
	int rc;

	/* One token per browser: a second tab (or a stray request that lands
	 * here) must not invalidate the form already shown. */
	if ((!html_cookie_value(cookies, CONSOLE_LOGIN_COOKIE, token, sizeof(token)) ||
	     strlen(token) != RANDOM_TOKEN_HEX - 1 ||
	     strspn(token, "0123456789abcdef") != RANDOM_TOKEN_HEX - 1) &&
	    random_token_hex(token) != CN_OK)
		return CN_ERR;
	set_cookie(req, reply, 1, CONSOLE_LOGIN_COOKIE, token, 3600);
	dynbuf_reset(out);
	rc = console_page_begin(req, out, "Sign in");
	if (rc == CN_OK && message != NULL)
		rc = html_raw(out, "<p class=\"problem\" role=\"alert\">");
	if (rc == CN_OK && message != NULL)
		rc = html_text(out, message);
	if (rc == CN_OK && message != NULL)
		rc = html_raw(out, "</p>");
	if (rc == CN_OK)
		rc = html_raw(out,
		              "<form class=\"login\" method=\"post\" action=\"/login\">"
		              "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		              "<label>User name <input name=\"username\" autocomplete=\"username\""
		              " required value=\"",
		              token);
	if (rc == CN_OK)
		rc = html_text(out, username != NULL ? username : "");
	if (rc == CN_OK)
		rc = html_raw(out, "\"></label><label>Password <input type=\"password\" "
		                   "name=\"password\" autocomplete=\"current-password\" required>"
		                   "</label><button type=\"submit\">Sign in</button></form>");
	if (rc == CN_OK)
		rc = console_page_end(out);
	return rc;
}

int console_page_login(struct console_request *req, struct console_reply *reply)
{
	if (req->signed_in) {
		console_redirect(reply, "/");
		return CN_OK;
	}
	return login_form(req, reply, NULL, NULL);
}

/* Starts a session for user: a new random id in the cookie, its hash and a
 * new CSRF token in the database. */
static int start_session(struct console_request *req, struct console_reply *reply,
                         const struct store_console_user *user, struct cn_error *err)
{
	char id[RANDOM_TOKEN_HEX], csrf[RANDOM_TOKEN_HEX], hash[65];
	int minutes = req->console->config->console_session_minutes;
	int rc;

	if (random_token_hex(id) != CN_OK || random_token_hex(csrf) != CN_OK) {
		error_set(err, "the random number generator failed");
		return CN_ERR;
	}
	random_sha256_hex(id, hash);
	rc = store_console_session_create(req->db, user->id, hash, csrf, minutes, err);
	if (rc != CN_OK)
		return rc;
	set_cookie(req, reply, 0, CONSOLE_COOKIE, id, minutes * 60);
	set_cookie(req, reply, 1, CONSOLE_LOGIN_COOKIE, "", 0);
	console_redirect(reply, "/");
	log_info("console_login", "user", user->name, "address", req->address, NULL);
	return CN_OK;
}

int console_login_submit(struct console_request *req, struct console_reply *reply)
{
	const char *cookies = MHD_lookup_connection_value(req->mhd, MHD_HEADER_KIND, "Cookie");
	char username[STORE_CONSOLE_NAME_MAX], password[PASSWORD_MAX_LENGTH + 1];
	char form_token[128], cookie_token[128];
	struct store_console_user user;
	struct cn_error err = {""};
	int64_t by_user = 0, by_address = 0;
	bool ok;
	int rc;

	if (!html_form_field(req->body, "csrf", form_token, sizeof(form_token)) ||
	    !html_cookie_value(cookies, CONSOLE_LOGIN_COOKIE, cookie_token, sizeof(cookie_token)) ||
	    !html_token_equal(form_token, cookie_token))
		return console_error_page(req, reply, 403,
		                          "This sign-in form is out of date or was not sent by the "
		                          "console. Reload the sign-in page and try again.");
	if (!html_form_field(req->body, "username", username, sizeof(username)) ||
	    !html_form_field(req->body, "password", password, sizeof(password)) ||
	    username[0] == '\0') {
		reply->status = 401;
		return login_form(req, reply, "Sign-in failed: wrong user name or password.", NULL);
	}
	rc = store_console_login_failures(req->db, username, req->address, LOGIN_WINDOW_SECONDS,
	                                  &by_user, &by_address, &err);
	if (rc != CN_OK)
		goto db_error;
	if (by_user >= LOGIN_FAILURES_PER_USER || by_address >= LOGIN_FAILURES_PER_ADDRESS) {
		reply->status = 429;
		log_warn("console_login_throttled", "user", username, "address", req->address,
		         NULL);
		return login_form(req, reply,
		                  "Too many failed sign-ins for this user or from this address. "
		                  "Wait 15 minutes and try again, or ask an administrator to set a "
		                  "new password.",
		                  username);
	}
	rc = store_console_user_get(req->db, username, &user, &err);
	if (rc != CN_OK && rc != CN_NOT_FOUND)
		goto db_error;
	ok =
	    password_verify(password, rc == CN_OK ? user.password_hash : decoy_hash) && rc == CN_OK;
	memset(password, 0, sizeof(password));
	if (!ok) {
		if (store_console_login_failed(req->db, username, req->address, &err) != CN_OK)
			goto db_error;
		log_info("console_login_failed", "user", username, "address", req->address, NULL);
		reply->status = 401;
		return login_form(req, reply, "Sign-in failed: wrong user name or password.",
		                  username);
	}
	rc = start_session(req, reply, &user, &err);
	if (rc == CN_OK)
		return CN_OK;
db_error:
	log_warn("console_database_error", "error", err.message, NULL);
	return console_error_page(req, reply, 503,
	                          "The database cannot be reached just now; try again in a "
	                          "minute.");
}

int console_logout(struct console_request *req, struct console_reply *reply)
{
	struct cn_error err = {""};

	if (store_console_session_delete(req->db, req->session_hash, &err) != CN_OK)
		log_warn("console_database_error", "error", err.message, NULL);
	set_cookie(req, reply, 0, CONSOLE_COOKIE, "", 0);
	log_info("console_logout", "user", req->session.user, NULL);
	console_redirect(reply, "/login");
	return CN_OK;
}
