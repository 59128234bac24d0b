#include "ordergen.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- randomness */

/* splitmix64: small, fast, and good enough to spread seeds and indexes. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct rng {
	uint64_t state;
};

static struct rng rng_for(uint64_t seed, uint64_t kind, uint64_t n)
{
	struct rng r = {mix64(mix64(seed ^ (kind << 56)) ^ mix64(n + 0x1234567ULL))};

	return r;
}

static uint64_t rng_next(struct rng *r)
{
	r->state += 0x9e3779b97f4a7c15ULL;
	return mix64(r->state);
}

/* Uniform in 0..n-1 (n > 0); the modulo bias is irrelevant here. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* True with probability permille / 1000. */
static bool rng_chance(struct rng *r, unsigned permille)
{
	return rng_below(r, 1000) < permille;
}

#define PICK(r, array) ((array)[rng_below((r), sizeof(array) / sizeof((array)[0]))])

/* ---------------------------------------------------------------- arithmetic */

/* round(n / d) half up, n >= 0, d > 0. */
static int64_t div_half_up(int64_t n, int64_t d)
{
	return (2 * n + d) / (2 * d);
}

int64_t ordergen_excl_from_incl(int64_t incl_cents, int rate_bp)
{
	return div_half_up(incl_cents * 10000, 10000 + rate_bp);
}

int64_t ordergen_vat_from_excl(int64_t excl_cents, int rate_bp)
{
	return div_half_up(excl_cents * rate_bp, 10000);
}

int64_t ordergen_parse_cents(const char *text)
{
	int64_t whole = 0, frac = 0;
	int decimals = 0;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		whole = whole * 10 + (*p++ - '0');
		if (whole > 100000000)
			return -1;
	}
	if (*p == '.' || *p == ',') {
		p++;
		while (*p >= '0' && *p <= '9' && decimals < 2) {
			frac = frac * 10 + (*p++ - '0');
			decimals++;
		}
	}
	if (*p != '\0')
		return -1;
	if (decimals == 1)
		frac *= 10;
	return whole * 100 + frac;
}

/* ---------------------------------------------------------------- text pools */

/* Names in many scripts: Latin with diacritics, Greek, Cyrillic, Arabic,
 * Hebrew, CJK, Hangul, Devanagari, Vietnamese, and emoji; a buyer's first and
 * last name come from the same script. */
struct script {
	const char *first[4];
	const char *last[4];
};
static const struct script scripts[] = {
    {{"Jan", "Sanne", "Pieter", "Femke"}, {"de Vries", "van der Berg", "Jansen", "van 't Hek"}},
    {{"Émile", "Françoise", "Zoë", "Ñuño"}, {"Lefèvre", "García Márquez", "Dvořák", "O'Brien"}},
    {{"Søren", "Ólafur", "Ångström", "Dörte"}, {"Øvergaard", "Þórsson", "Müller", "Jäger"}},
    {{"Łukasz", "Đorđe", "Kübra", "Çağla"}, {"Nowak-Kowalska", "Šimić", "Żółć", "Yılmaz"}},
    {{"Γιώργος", "Ελένη", "Νίκος", "Μαρία"}, {"Παπαδόπουλος", "Οικονόμου", "Νικολάου", "Κ."}},
    {{"Наталья", "Дмитрий", "Ольга", "Иван"}, {"Иванова", "Смирнов", "Петрова", "Ёлкин"}},
    {{"محمد", "فاطمة", "أحمد", "ليلى"}, {"العلي", "حسن", "الخطيب", "منصور"}},
    {{"דוד", "שרה", "יוסף", "רחל"}, {"כהן", "לוי", "מזרחי", "פרץ"}},
    {{"太郎", "美咲", "伟", "秀英"}, {"山田", "佐藤", "王", "李"}},
    {{"민준", "서연", "지호", "하은"}, {"김", "이", "박", "최"}},
    {{"प्रिया", "राहुल", "अनीता", "विक्रम"}, {"शर्मा", "पटेल", "सिंह", "गुप्ता"}},
    {{"Nguyễn", "Thảo", "Minh", "Đức"}, {"Trần", "Lê", "Phạm", "Hoàng"}},
    {{"Sam 🚀", "Lotte", "Noor ✨", "Bram"}, {"🌷 Tulp", "Bakker", "Visser 🐟", "Smit"}},
};
static const char *const company_names[] = {"Boekhandel De Zilveren Pen B.V.",
                                            "Müller & Söhne GmbH",
                                            "L'Atelier du Livre SARL",
                                            "Ελληνικά Βιβλία Α.Ε.",
                                            "ООО «Книжный мир»",
                                            "株式会社 本屋さん",
                                            "Café ☕ Lezen V.O.F.",
                                            "Stichting Lees & Leer",
                                            "Nordic Paper AS",
                                            "Uitgeverij 't Hoekje",
                                            "مكتبة النور",
                                            "Acme Books Ltd.",
                                            "Ōsaka Trading KK",
                                            "Drukkerij Ödön & Zn.",
                                            "Studio Δ Design"};
static const char *const email_locals[] = {"jan",       "info",       "sanne.devries", "emile",
                                           "zoe",       "orders",     "admin",         "lukasz.n",
                                           "f.lefevre", "boekhouding"};
static const char *const email_domains[] = {"example.nl", "Example.COM", "mail.example.de",
                                            "example.be", "example.fr",  "example.org"};
static const char *const products[] = {"Het Grote Boek",          "Cursus Boekhouden (online)",
                                       "E-book: Rust & Ruimte",   "Workshop Kalligrafie 🖋",
                                       "Jaarabonnement",          "Ticket — Lezing 12 mei",
                                       "Gids voor Noorwegen",     "Masterclass «Schrijven»",
                                       "Pakket: 3 × notitieboek", "Tweedehands atlas (1954)"};
static const char *const descriptions[] = {
    "Hardcover, 320 pagina's — eerste druk", "Toegang voor 12 maanden", "",
    "PDF en EPUB; levering per e-mail",      "Inclusief werkboek 📘",    "Zaal 2, rij F"};
static const char *const providers[] = {"mollie", "mollie", "mollie", "stripe", "paypal"};

struct place {
	const char *country;
	const char *city;
	const char *street;
};
static const struct place nl_places[] = {{"NL", "Amsterdam", "Keizersgracht"},
                                         {"NL", "Utrecht", "Oudegracht"},
                                         {"NL", "'s-Hertogenbosch", "Hinthamerstraat"},
                                         {"NL", "Groningen", "Grote Markt"},
                                         {"NL", "Den Haag", "Lange Voorhout"}};
static const struct place eu_places[] = {
    {"BE", "Liège", "Rue Léopold"},        {"BE", "Antwerpen", "Meir"},
    {"DE", "München", "Maximilianstraße"}, {"DE", "Köln", "Hohe Straße"},
    {"FR", "Besançon", "Rue des Granges"}, {"FR", "Paris", "Rue de Rivoli"}};
static const struct place far_places[] = {{"US", "New York", "Fifth Avenue"},
                                          {"CH", "Zürich", "Bahnhofstrasse"},
                                          {"NO", "Tromsø", "Storgata"},
                                          {"GB", "London", "Baker Street"},
                                          {"JP", "東京", "銀座"}};

/* ---------------------------------------------------------------- buyers */

enum profile {
	NL_PRIVATE,
	NL_VAT,
	NL_PEPPOL,
	EU_BUSINESS,
	EU_PRIVATE,
	FAR_AWAY,
};

struct buyer {
	enum profile profile;
	const struct place *place;
	const char *first, *last, *company;
	char email[96];
	char vat[32];
	char peppol[32];
	char postal[16];
	char match_ref[96];
	int house;
	bool prices_excl; /* a business that is quoted excl. VAT */
};

static void postal_code(struct rng *r, const char *country, char out[16])
{
	if (strcmp(country, "NL") == 0)
		snprintf(out, 16, "%04d %c%c", 1000 + (int)rng_below(r, 9000),
		         'A' + (int)rng_below(r, 26), 'A' + (int)rng_below(r, 26));
	else if (strcmp(country, "BE") == 0 || strcmp(country, "CH") == 0 ||
	         strcmp(country, "NO") == 0)
		snprintf(out, 16, "%04d", 1000 + (int)rng_below(r, 9000));
	else if (strcmp(country, "GB") == 0)
		snprintf(out, 16, "SW1A %dAA", 1 + (int)rng_below(r, 9));
	else if (strcmp(country, "JP") == 0)
		snprintf(out, 16, "%03d-%04d", 100 + (int)rng_below(r, 900),
		         (int)rng_below(r, 10000));
	else
		snprintf(out, 16, "%05d", 10000 + (int)rng_below(r, 90000));
}

/* VAT numbers as buyers type them: sometimes with spaces or dots. Unique per
 * buyer number (below 10^6). */
static void vat_number(struct rng *r, const char *country, uint64_t n, char out[32])
{
	unsigned digits = (unsigned)((n % 1000000) * 1000 + rng_below(r, 1000));
	bool sloppy = rng_chance(r, 200);

	if (strcmp(country, "NL") == 0)
		snprintf(out, 32, sloppy ? "NL %09u.B%02u" : "NL%09uB%02u", digits,
		         1 + (unsigned)rng_below(r, 20));
	else if (strcmp(country, "BE") == 0)
		snprintf(out, 32, sloppy ? "BE 0%03u.%03u.%03u" : "BE0%03u%03u%03u",
		         digits / 1000000, digits / 1000 % 1000, digits % 1000);
	else if (strcmp(country, "FR") == 0)
		snprintf(out, 32, "FR%02u%09u", (unsigned)rng_below(r, 100), digits);
	else
		snprintf(out, 32, "%s%09u", country, digits);
}

/* bookto's match_ref: VAT number, else Peppol id, else email; trimmed,
 * ASCII lower-cased, and for a VAT number without spaces, dots, hyphens. */
static void match_ref(struct buyer *b)
{
	const char *src = b->vat[0] ? b->vat : b->peppol[0] ? b->peppol : b->email;
	bool vat = b->vat[0] != '\0';
	size_t o = 0;

	for (; *src != '\0' && o + 1 < sizeof(b->match_ref); src++) {
		char c = *src;

		if (vat && (c == ' ' || c == '.' || c == '-'))
			continue;
		b->match_ref[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	b->match_ref[o] = '\0';
}

static void make_buyer(const struct ordergen *g, uint64_t n, struct buyer *b)
{
	struct rng r = rng_for(g->seed, 'B', n);
	const struct script *script;
	unsigned dice = (unsigned)rng_below(&r, 100);

	memset(b, 0, sizeof(*b));
	b->profile = dice < 40   ? NL_PRIVATE
	             : dice < 55 ? NL_VAT
	             : dice < 65 ? NL_PEPPOL
	             : dice < 77 ? EU_BUSINESS
	             : dice < 90 ? EU_PRIVATE
	                         : FAR_AWAY;
	if (ordergen_every_cent_count(g) > 0)
		b->profile = NL_PRIVATE;
	b->place = b->profile <= NL_PEPPOL  ? &PICK(&r, nl_places)
	           : b->profile == FAR_AWAY ? &PICK(&r, far_places)
	                                    : &PICK(&r, eu_places);
	script = &PICK(&r, scripts);
	b->first = PICK(&r, script->first);
	b->last = PICK(&r, script->last);
	b->company = "";
	snprintf(b->email, sizeof(b->email), "%s.%" PRIu64 "@%s", PICK(&r, email_locals), n,
	         PICK(&r, email_domains));
	if (b->profile == NL_VAT || b->profile == NL_PEPPOL || b->profile == EU_BUSINESS ||
	    (b->profile == FAR_AWAY && rng_chance(&r, 500))) {
		b->company = PICK(&r, company_names);
		b->prices_excl = rng_chance(&r, 400);
	}
	if (b->profile == NL_VAT || b->profile == EU_BUSINESS)
		vat_number(&r, b->place->country, n, b->vat);
	if (b->profile == NL_PEPPOL)
		snprintf(b->peppol, sizeof(b->peppol), "0106:%08" PRIu64, 10000000 + n % 89999999);
	else if (b->profile == EU_BUSINESS && strcmp(b->place->country, "BE") == 0 &&
	         rng_chance(&r, 500))
		snprintf(b->peppol, sizeof(b->peppol), "0208:%.10s", b->vat + 2);
	if ((b->vat[0] != '\0' || b->peppol[0] != '\0') && rng_chance(&r, 300))
		b->email[0] = '\0'; /* businesses without an email: matched on VAT / Peppol */
	postal_code(&r, b->place->country, b->postal);
	b->house = 1 + (int)rng_below(&r, 250);
	match_ref(b);
}

/* ---------------------------------------------------------------- JSON writer */

struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void put_raw(struct out *o, const char *s, size_t n)
{
	if (o->overflow || o->len + n + 1 > o->cap) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		o->overflow = true;
		return;
	}
	put_raw(o, tmp, (size_t)n);
}

/* A JSON string; UTF-8 passes through, quotes, backslashes and controls are
 * escaped. */
static void put_str(struct out *o, const char *s)
{
	put_raw(o, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};

			put_raw(o, esc, 2);
		} else if (c < 0x20) {
			putf(o, "\\u%04x", c);
		} else {
			put_raw(o, (const char *)&c, 1);
		}
	}
	put_raw(o, "\"", 1);
}

static void put_member(struct out *o, const char *key, const char *value, bool comma)
{
	put_str(o, key);
	put_raw(o, ":", 1);
	put_str(o, value);
	if (comma)
		put_raw(o, ",", 1);
}

static void put_money(struct out *o, const char *key, int64_t cents, bool comma)
{
	putf(o, "\"%s\":%" PRId64 ".%02" PRId64 "%s", key, cents / 100, cents % 100,
	     comma ? "," : "");
}

/* ---------------------------------------------------------------- orders */

void ordergen_init(struct ordergen *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->seed = seed;
	g->buyers = 60;
	g->every_rate_bp = 2100;
	snprintf(g->prefix, sizeof(g->prefix), "gen");
}

uint64_t ordergen_every_cent_count(const struct ordergen *g)
{
	if (g->every_from <= 0 || g->every_to < g->every_from)
		return 0;
	return (uint64_t)(g->every_to - g->every_from + 1);
}

uint64_t ordergen_buyer_of(const struct ordergen *g, uint64_t index)
{
	struct rng r = rng_for(g->seed, 'P', index);

	if (g->buyers == 0)
		return index;
	return rng_below(&r, g->buyers);
}

/* A retail price: log-uniform over 0.99 .. 1,234.56, mostly with the
 * endings shops use (.99, .95, .00, .50), a quarter with any cents. */
static int64_t draw_price(struct rng *r)
{
	static const int endings[] = {99, 99, 99, 95, 95, 0, 0, 50};
	double u = (double)rng_below(r, 1000000) / 1000000.0;
	double lo = 99.0, hi = 123456.0;
	int64_t cents = (int64_t)(lo * pow(hi / lo, u));

	if (!rng_chance(r, 250))
		cents = cents / 100 * 100 + PICK(r, endings);
	if (cents < 99)
		cents = 99;
	if (cents > 123456)
		cents = 123456;
	return cents;
}

struct choice {
	const char *treatment;
	int rate_bp;
	bool from_excl;
	int64_t price; /* incl. when !from_excl, else excl. */
};

static void choose(const struct ordergen *g, uint64_t index, const struct buyer *b, struct rng *r,
                   struct choice *c)
{
	unsigned dice = (unsigned)rng_below(r, 100);

	c->treatment = "standard";
	c->rate_bp = 2100;
	c->price = draw_price(r);
	switch (b->profile) {
	case EU_BUSINESS:
		c->treatment = "reverse_charge";
		c->rate_bp = 0;
		break;
	case FAR_AWAY:
		c->treatment = "export";
		c->rate_bp = 0;
		break;
	case EU_PRIVATE:
		c->treatment = "oss";
		c->rate_bp = strcmp(b->place->country, "FR") == 0   ? 2000
		             : strcmp(b->place->country, "BE") == 0 ? 2100
		             : dice < 80                            ? 1900
		                                                    : 700;
		break;
	default:
		if (dice >= 92) {
			c->treatment = "exempt";
			c->rate_bp = 0;
		} else if (dice >= 75) {
			c->rate_bp = 900;
		}
	}
	c->from_excl =
	    g->basis == ORDERGEN_BASIS_EXCL || (g->basis == ORDERGEN_BASIS_MIXED && b->prices_excl);
	if (index < g->fixed_count) {
		c->treatment = "standard";
		c->rate_bp = 2100;
		c->from_excl = false;
		c->price = g->fixed_cents[index];
	} else if (ordergen_every_cent_count(g) > 0) {
		c->treatment = "standard";
		c->rate_bp = g->every_rate_bp;
		c->from_excl = g->basis == ORDERGEN_BASIS_EXCL;
		c->price = g->every_from + (int64_t)index;
	}
}

static void put_rate(struct out *o, int rate_bp)
{
	if (rate_bp % 100 == 0)
		putf(o, "\"vat_rate\":%d,", rate_bp / 100);
	else
		putf(o, "\"vat_rate\":%d.%02d,", rate_bp / 100, rate_bp % 100);
}

static void put_time(struct out *o, const char *key, int64_t epoch)
{
	char text[32];
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	put_member(o, key, text, true);
}

/* Hostile text for a share of orders when asked: markup, quotes, separators
 * that URLs and filters treat specially, and long strings. */
static const char *const hostile_numbers[] = {"ORD 2024/17", "ORD,17:a|b", "ORD%2F17",
                                              "ORD \"17\"",  "ORD <17>",   "ORD?x=1&y=2#17"};
static const char *const hostile_texts[] = {"<script>alert(1)</script>",
                                            "\"; DROP TABLE orders; --", "line1\nline2\ttab",
                                            "100% ,:|/ \\ back"};

static void put_order_number(struct out *o, const struct ordergen *g, uint64_t index, bool hostile,
                             struct rng *r)
{
	char number[128];

	if (hostile)
		snprintf(number, sizeof(number), "%s-%s-%" PRIu64, PICK(r, hostile_numbers),
		         g->prefix, index);
	else
		snprintf(number, sizeof(number), "ORD-%s-%" PRIu64, g->prefix, index);
	put_member(o, "order_number", number, true);
}

static void put_product(struct out *o, bool hostile, struct rng *r)
{
	char longer[600];

	put_raw(o, "\"product\":{", 11);
	if (hostile) {
		size_t i;

		for (i = 0; i + 1 < sizeof(longer); i++)
			longer[i] = "Lorem ipsum dolor sit amet "[i % 27];
		longer[sizeof(longer) - 1] = '\0';
		put_member(o, "name", PICK(r, hostile_texts), true);
		put_member(o, "description", longer, false);
	} else {
		put_member(o, "name", PICK(r, products), true);
		put_member(o, "description", PICK(r, descriptions), false);
	}
	put_raw(o, "},", 2);
}

static void put_buyer(struct out *o, const struct buyer *b, bool hostile)
{
	char address[160];

	snprintf(address, sizeof(address), "%s %d", b->place->street, b->house);
	put_raw(o, "\"buyer\":{", 9);
	put_member(o, "first_name", b->company[0] != '\0' && b->house % 3 == 0 ? "" : b->first,
	           true);
	put_member(o, "last_name", b->company[0] != '\0' && b->house % 3 == 0 ? "" : b->last, true);
	put_member(o, "email", b->email, true);
	put_member(o, "company",
	           hostile && b->company[0] != '\0' ? "Quote \"&\" Co <b>" : b->company, true);
	put_member(o, "vat_number", b->vat, true);
	put_member(o, "peppol_id", b->peppol, true);
	put_member(o, "address", address, true);
	put_member(o, "address2", b->house % 7 == 0 ? "2e verdieping" : "", true);
	put_member(o, "postal_code", b->postal, true);
	put_member(o, "city", b->place->city, true);
	put_member(o, "country", b->place->country, true);
	put_member(o, "match_ref", b->match_ref, false);
	put_raw(o, "},", 2);
}

static void put_custom_fields(struct out *o, bool hostile, struct rng *r, uint64_t index)
{
	char po[48];

	put_raw(o, "\"custom_fields\":[", 17);
	if (hostile) {
		put_raw(o, "{", 1);
		put_member(o, "label", "Opmerking \"x\"", true);
		put_member(o, "value", PICK(r, hostile_texts), false);
		put_raw(o, "}", 1);
	} else if (rng_chance(r, 300)) {
		snprintf(po, sizeof(po), "PO-2024-%" PRIu64, index);
		put_raw(o, "{", 1);
		put_member(o, "label", rng_chance(r, 500) ? "PO number" : "Opmerking", true);
		put_member(o, "value", rng_chance(r, 500) ? po : "Graag als cadeau inpakken 🎁",
		           false);
		put_raw(o, "}", 1);
	}
	put_raw(o, "],", 2);
}

int ordergen_render(const struct ordergen *g, uint64_t index, uint64_t buyer, char *out, size_t cap,
                    struct ordergen_figures *fig)
{
	struct rng r = rng_for(g->seed, 'O', index);
	struct out o = {out, cap, 0, cap == 0};
	struct buyer b;
	struct choice c;
	int64_t incl, excl, vat, paid;
	char id[96];
	bool hostile;

	make_buyer(g, buyer, &b);
	choose(g, index, &b, &r, &c);
	hostile = g->hostile && rng_chance(&r, 150);
	if (g->bookable_only && !c.from_excl &&
	    (c.price * 10000) % (10000 + c.rate_bp) * 2 == 10000 + c.rate_bp)
		c.price++;
	if (c.from_excl) {
		excl = c.price;
		vat = ordergen_vat_from_excl(excl, c.rate_bp);
		incl = excl + vat;
	} else {
		incl = c.price;
		excl = ordergen_excl_from_incl(incl, c.rate_bp);
		vat = incl - excl;
	}
	paid = 1714636800 + (int64_t)index * 137 + (int64_t)rng_below(&r, 60);
	snprintf(id, sizeof(id), "%s-%" PRIu64, g->prefix, index);
	if (cap > 0)
		out[0] = '\0';
	put_raw(&o, "{", 1);
	put_member(&o, "event", "order.paid", true);
	put_member(&o, "payment_provider", PICK(&r, providers), true);
	put_member(&o, "order_id", id, true);
	put_order_number(&o, g, index, hostile, &r);
	put_member(&o, "status", "paid", true);
	put_time(&o, "created_at", paid - 30 - (int64_t)rng_below(&r, 600));
	put_time(&o, "paid_at", paid);
	put_raw(&o, "\"amount\":{", 10);
	put_money(&o, "total_incl", incl, true);
	put_money(&o, "excl_vat", excl, true);
	put_money(&o, "vat", vat, true);
	put_rate(&o, c.rate_bp);
	put_member(&o, "currency", "EUR", false);
	put_raw(&o, "},", 2);
	put_member(&o, "vat_treatment", c.treatment, true);
	put_product(&o, hostile, &r);
	put_buyer(&o, &b, hostile);
	put_custom_fields(&o, hostile, &r, index);
	putf(&o, "\"seller\":{\"id\":\"seller_42\",\"entity\":null},\"is_test_order\":false}");
	if (o.overflow)
		return -1;
	if (fig != NULL) {
		fig->incl_cents = incl;
		fig->excl_cents = excl;
		fig->vat_cents = vat;
		fig->rate_bp = c.rate_bp;
		fig->treatment = c.treatment;
		fig->from_excl = c.from_excl;
		fig->buyer = buyer;
	}
	return (int)o.len;
}
