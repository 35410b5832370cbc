// Package erpsim is the ERP simulator: a Dynamics 365 Finance and Operations-shaped OData v4
// service over a SQLite store (package store), with OAuth2 client credentials, injectable
// faults, a random change driver and an admin API. docs/erp-model.md is its contract.
package erpsim

import (
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/erpsync/erpsync/erpsim/store"
)

// Config configures a Server. The zero value of each field takes the default named.
type Config struct {
	ClientID     string        // default "erpsync"
	ClientSecret string        // default "erpsync-dev-secret"
	TokenTTL     time.Duration // default 1h
	// PageSize is the page size without Prefer: odata.maxpagesize; default and cap MaxPageSize.
	PageSize int
	Faults   Faults
	// Seed seeds the fault rolls and the change driver.
	Seed uint64
	// ChangeRate is the change driver's initial rate (changes per second). The driver only runs
	// when the caller runs Driver().Run.
	ChangeRate float64
	// Behaviour is how changes are stamped and logged: the zero value bumps roots and logs
	// deletes (an ERP add-on); store.Behaviour{NoBumps: true, NoDeletionLog: true} is stock D365.
	Behaviour store.Behaviour
	Logger    *slog.Logger
}

// Defaults for Config.
const (
	DefaultClientID     = "erpsync"
	DefaultClientSecret = "erpsync-dev-secret"
	DefaultTokenTTL     = time.Hour
)

// Server is the simulator's HTTP service:
//
//	POST /oauth2/token            OAuth2 client credentials
//	/data/...                     OData (bearer token; faults apply here only)
//	GET|PUT /admin/faults         the fault settings (bearer token)
//	GET|PUT /admin/changes        the change driver's rate and counts (bearer token)
//	GET /healthz                  liveness
//
// It is safe for concurrent use.
type Server struct {
	store  *store.Store
	auth   *Auth
	faults *faultInjector
	driver *Driver
	log    *slog.Logger
	mux    *http.ServeMux
}

// NewServer returns a Server over s.
func NewServer(s *store.Store, cfg Config) (*Server, error) {
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.PageSize <= 0 || cfg.PageSize > MaxPageSize {
		cfg.PageSize = MaxPageSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s.SetBehaviour(cfg.Behaviour)
	srv := &Server{
		store: s,
		auth:  NewAuth(cfg.ClientID, cfg.ClientSecret, cfg.TokenTTL),
		log:   cfg.Logger,
		faults: &faultInjector{
			rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xfa17)),
			onSet: func(f Faults) { s.Clock().SetSkew(time.Duration(f.ClockSkew)) },
		},
	}
	if err := srv.faults.set(cfg.Faults); err != nil {
		return nil, err
	}
	srv.driver = NewDriver(s, cfg.Seed, cfg.ChangeRate, srv.faults.get, cfg.Logger)
	data := &dataHandler{store: s, pageSize: cfg.PageSize}
	mux := http.NewServeMux()
	mux.Handle("POST /oauth2/token", srv.auth)
	mux.Handle("/data/", srv.auth.Require(srv.faults.wrap(data)))
	mux.Handle("/data", http.RedirectHandler("/data/", http.StatusMovedPermanently))
	mux.Handle("/admin/faults", srv.auth.Require(http.HandlerFunc(srv.adminFaults)))
	mux.Handle("/admin/changes", srv.auth.Require(http.HandlerFunc(srv.adminChanges)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	srv.mux = mux
	return srv, nil
}

// Faults returns the current fault settings.
func (s *Server) Faults() Faults { return s.faults.get() }

// SetFaults replaces the fault settings.
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f) }

// Driver returns the change driver; run it with Driver().Run.
func (s *Server) Driver() *Driver { return s.driver }

// Auth returns the token issuer, e.g. to issue a token in-process.
func (s *Server) Auth() *Auth { return s.auth }

// ServeHTTP implements http.Handler, logging each request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(sw, r)
	s.log.Debug("request", "method", r.Method, "url", r.URL.String(), "status", sw.status, "took", time.Since(start))
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (s *Server) adminFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		f := s.faults.get()
		d := json.NewDecoder(io.LimitReader(r.Body, maxBody))
		d.DisallowUnknownFields()
		if err := d.Decode(&f); err != nil {
			writeError(w, http.StatusBadRequest, "BadRequest", "invalid faults: "+err.Error())
			return
		}
		if err := s.faults.set(f); err != nil {
			writeError(w, http.StatusBadRequest, "BadRequest", "invalid faults: "+err.Error())
			return
		}
		s.log.Info("faults changed", "faults", f)
	default:
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET or PUT")
		return
	}
	writeAdmin(w, s.faults.get())
}

// changesState is the body of /admin/changes.
type changesState struct {
	Rate  float64     `json:"rate"`
	Stats DriverStats `json:"stats"`
}

func (s *Server) adminChanges(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		var in struct {
			Rate *float64 `json:"rate"`
		}
		d := json.NewDecoder(io.LimitReader(r.Body, maxBody))
		d.DisallowUnknownFields()
		if err := d.Decode(&in); err != nil || in.Rate == nil || *in.Rate < 0 {
			writeError(w, http.StatusBadRequest, "BadRequest", `expected {"rate": changes per second >= 0}`)
			return
		}
		s.driver.SetRate(*in.Rate)
		s.log.Info("change rate changed", "rate", *in.Rate)
	default:
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET or PUT")
		return
	}
	writeAdmin(w, changesState{Rate: s.driver.Rate(), Stats: s.driver.Stats()})
}

func writeAdmin(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
