package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// Names on the wire.
const (
	cookieName = "fenghuo_session"
	csrfHeader = "X-CSRF-Token"
	maxBody    = 16 << 10
)

// api serves the JSON HTTP API. ack, when not nil, sends the ack downlink.
type api struct {
	st     store.Store
	ack    func(ctx context.Context, township, gateway, ticketID, by string) error
	now    func() time.Time
	secure bool          // served over TLS: cookies get Secure
	slots  chan struct{} // bounds concurrent password checks
}

func (a *api) routes() http.Handler {
	a.slots = make(chan struct{}, 2)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", a.login)
	mux.HandleFunc("POST /api/logout", a.auth(a.logout))
	mux.HandleFunc("GET /api/session", a.auth(a.session))
	mux.HandleFunc("GET /api/orders", a.auth(a.orders))
	mux.HandleFunc("GET /api/orders/{id}", a.auth(a.order))
	mux.HandleFunc("POST /api/orders/{id}/{action}", a.auth(a.transition))
	mux.HandleFunc("GET /api/gateways", a.auth(a.gateways))
	mux.HandleFunc("GET /api/events", a.auth(a.events))
	mux.HandleFunc("GET /api/events.csv", a.auth(a.eventsCSV))
	mux.HandleFunc("GET /api/counts", a.auth(a.counts))
	mux.HandleFunc("GET /api/rejected", a.auth(a.rejected))
	return headers(mux)
}

// headers sets the security headers of every answer.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// caller is who a request is from.
type caller struct {
	user string
	sec  store.Secret
}

// auth admits a request with an API token (Authorization: Bearer) or a
// session cookie; a state-changing request with a session must also carry
// the session's CSRF token in X-CSRF-Token.
func (a *api) auth(h func(http.ResponseWriter, *http.Request, caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, kind := bearer(r), "token"
		if tok == "" {
			if c, err := r.Cookie(cookieName); err == nil {
				tok, kind = c.Value, "session"
			}
		}
		if tok == "" {
			fail(w, http.StatusUnauthorized, "sign in (POST /api/login) or give an API token (Authorization: Bearer …)")
			return
		}
		sec, err := a.st.LookupSecret(r.Context(), hashToken(tok), a.now())
		if err != nil || sec.Kind != kind {
			fail(w, http.StatusUnauthorized, "unknown or expired session or token")
			return
		}
		if kind == "session" && r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sec.CSRF)) != 1 {
				fail(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" (GET /api/session gives it)")
				return
			}
		}
		h(w, r, caller{user: sec.User, sec: sec})
	}
}

func bearer(r *http.Request) string {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	reply(w, code, map[string]string{"error": msg})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return // the client went away; nothing to tell it
	}
}

// readJSON decodes a bounded JSON body; the content type must be JSON
// (a cross-site form cannot send it without a CORS preflight).
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

func (a *api) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ User, Password string }
	if !readJSON(w, r, &in) {
		return
	}
	select { // argon2id takes 19 MiB per check: at most 2 at once
	case a.slots <- struct{}{}:
		defer func() { <-a.slots }()
	case <-r.Context().Done():
		return
	}
	session, csrf, err := signIn(r.Context(), a.st, in.User, in.Password, a.now())
	if errors.Is(err, ErrSignIn) {
		fail(w, http.StatusUnauthorized, err.Error())
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, "sign in: "+err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: session, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: a.secure, MaxAge: int(sessionTTL / time.Second)})
	reply(w, http.StatusOK, map[string]string{"user": in.User, "csrf": csrf})
}

func (a *api) logout(w http.ResponseWriter, r *http.Request, c caller) {
	if err := a.st.DropSecret(r.Context(), c.sec.Hash); err != nil {
		fail(w, http.StatusInternalServerError, "sign out: "+err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	reply(w, http.StatusOK, map[string]string{"user": c.user})
}

func (a *api) session(w http.ResponseWriter, r *http.Request, c caller) {
	reply(w, http.StatusOK, map[string]string{"user": c.user, "csrf": c.sec.CSRF})
}

func (a *api) orders(w http.ResponseWriter, r *http.Request, _ caller) {
	os, err := a.st.OpenOrders(r.Context())
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, http.StatusOK, map[string]any{"orders": nonNil(os)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// eventJSON is an event with its payload as JSON.
type eventJSON struct {
	store.Event
	Ticket json.RawMessage `json:"ticket"`
}

func withPayload(evs []store.Event) []eventJSON {
	out := make([]eventJSON, len(evs))
	for i, e := range evs {
		out[i] = eventJSON{Event: e, Ticket: json.RawMessage(e.Payload)}
	}
	return out
}

func (a *api) order(w http.ResponseWriter, r *http.Request, _ caller) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "order id: not a number")
		return
	}
	o, steps, evs, err := a.st.Order(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		fail(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, http.StatusOK, map[string]any{"order": o, "steps": nonNil(steps), "events": withPayload(evs)})
}

func (a *api) gateways(w http.ResponseWriter, r *http.Request, _ caller) {
	gws, err := a.st.Gateways(r.Context())
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, http.StatusOK, map[string]any{"gateways": nonNil(gws)})
}

func (a *api) counts(w http.ResponseWriter, r *http.Request, _ caller) {
	c, err := a.st.Counts(r.Context())
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, http.StatusOK, c)
}

// filter reads the history filter from the query string.
func filter(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{Township: q.Get("township"), Gateway: q.Get("gateway"), Hazard: q.Get("hazard")}
	var err error
	if v := q.Get("level"); v != "" {
		if f.Level, err = strconv.Atoi(v); err != nil || f.Level < 1 || f.Level > 4 {
			return f, fmt.Errorf("level %q: 1..4", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			return f, fmt.Errorf("limit %q: a positive number", v)
		}
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				return f, fmt.Errorf("%s %q: RFC 3339 time, e.g. 2026-12-05T08:00:00+08:00", name, v)
			}
		}
	}
	return f, nil
}

// defaultJSONEvents is the page of /api/events without limit: each event
// carries its ticket, so the default stays small (limit= up to 10 000).
const defaultJSONEvents = 500

func (a *api) events(w http.ResponseWriter, r *http.Request, _ caller) {
	f, err := filter(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.Limit == 0 {
		f.Limit = defaultJSONEvents
	}
	evs, err := a.st.History(r.Context(), f)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, http.StatusOK, map[string]any{"events": withPayload(evs)})
}

func (a *api) rejected(w http.ResponseWriter, r *http.Request, _ caller) {
	rej, err := a.st.Rejected(r.Context(), 500)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, http.StatusOK, map[string]any{"rejected": nonNil(rej)})
}
