package serve

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"time"
)

// web holds the console: plain HTML, CSS and JavaScript, served from the
// binary (no CDN, no fonts from elsewhere; it works offline).
//
//go:embed web
var web embed.FS

// consoleCSP is the Content-Security-Policy of the console's pages: only
// the service's own scripts and styles, no inline code, no framing.
const consoleCSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// consoleRoutes adds the console's pages, the live feed and the first
// account to mux.
func (a *api) consoleRoutes(mux *http.ServeMux) {
	if a.hub == nil {
		a.hub = newHub()
	}
	a.limit = newLimiter()
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic("station serve: embedded console: " + err.Error())
	}
	files := http.FileServerFS(sub)
	page := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", consoleCSP)
		w.Header().Set("X-Frame-Options", "DENY")
		files.ServeHTTP(w, r)
	}
	mux.HandleFunc("GET /{$}", page)
	mux.HandleFunc("GET /static/", page)
	mux.HandleFunc("GET /api/stream", a.auth(a.stream))
	mux.HandleFunc("GET /api/setup", a.setupState)
	mux.HandleFunc("POST /api/setup", a.setup)
}

// usersCounter is implemented by stores that can tell whether any account
// exists (the first-visit account needs it).
type usersCounter interface {
	HasUsers(ctx context.Context) (bool, error)
}

// setupAllowed reports whether r may create the first account (allowed):
// no account exists yet (needed), the service listens on loopback, and the
// request comes from loopback without a proxy's forwarding headers. why
// says what stands in the way.
func (a *api) setupAllowed(r *http.Request) (needed, allowed bool, why string, err error) {
	uc, ok := a.st.(usersCounter)
	if !ok {
		return false, false, "this store cannot count accounts: use fenghuo station user add", nil
	}
	has, err := uc.HasUsers(r.Context())
	if err != nil || has {
		return false, false, "an account exists: sign in", err
	}
	switch {
	case !a.loopback:
		why = "the service listens beyond loopback: create the first account with fenghuo station user add"
	case !fromLoopback(r):
		why = "the first account is created only from the station's own machine (127.0.0.1), or with fenghuo station user add"
	}
	return true, why == "", why, nil
}

// fromLoopback: the peer is a loopback address and no proxy says it
// forwards someone else.
func fromLoopback(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	ip := net.ParseIP(clientIP(r))
	return ip != nil && ip.IsLoopback()
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// setupState answers GET /api/setup: {"needed","allowed","why"}.
func (a *api) setupState(w http.ResponseWriter, r *http.Request) {
	needed, ok, why, err := a.setupAllowed(r)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, http.StatusOK, map[string]any{"needed": needed, "allowed": ok, "why": why})
}

// setup answers POST /api/setup {"user","password"}: the first account,
// signed in at once.
func (a *api) setup(w http.ResponseWriter, r *http.Request) {
	var in struct{ User, Password string }
	if !readJSON(w, r, &in) {
		return
	}
	a.setupMu.Lock() // the check "no account yet" and the creation are one step
	defer a.setupMu.Unlock()
	_, ok, why, err := a.setupAllowed(r)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !ok {
		fail(w, http.StatusForbidden, why)
		return
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := a.st.PutUser(r.Context(), in.User, hash, a.now()); err != nil {
		a.storeError(w, err)
		return
	}
	a.signInAs(w, r, in.User, in.Password)
}

// retryAfter sets Retry-After in whole seconds.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(d/time.Second)+1))
}

var errLimited = errors.New("too many failed sign-ins for this account or address: wait and try again")
