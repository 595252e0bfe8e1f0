package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backup"
)

// This file is the backups admin surface (issue 22): /admin/backups lists,
// takes, restores and deletes snapshots through core/backup.Service, behind
// the admin key like every /admin route.

// BackupsSummary is the body of GET /admin/backups.
type BackupsSummary struct {
	Interval     string          `json:"interval"`
	MaxSnapshots int             `json:"max_snapshots"`
	Clients      []ClientBackups `json:"clients"`
}

// ClientBackups is one client's snapshots, newest first.
type ClientBackups struct {
	Client    string            `json:"client"`
	Snapshots []backup.Manifest `json:"snapshots"`
}

// errNoBackups answers every backup route when backups are off.
var errNoBackups = core.Errorf(core.CodeNotFound, "backups are not configured on this node (set backups.enabled and its destination in config.yaml)")

// backupRoutes are the /admin/backups routes; svc nil makes them 404.
func (h *Handler) backupRoutes(svc *backup.Service) []route {
	need := func(fn handlerFunc) handlerFunc {
		return h.admin(func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
			if svc == nil {
				return errNoBackups
			}
			return fn(w, r, ps)
		})
	}
	return []route{
		{method: http.MethodGet, path: "/admin/backups", fn: need(func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
			out := BackupsSummary{Interval: svc.Interval().String(), MaxSnapshots: svc.MaxSnapshots(), Clients: []ClientBackups{}}
			for _, c := range svc.Clients() {
				ms, err := svc.List(r.Context(), c)
				if err != nil {
					return err
				}
				out.Clients = append(out.Clients, ClientBackups{Client: c, Snapshots: nonNil(ms)})
			}
			return writeData(w, http.StatusOK, fmt.Sprintf("%d clients covered by backups", len(out.Clients)), out)
		})},
		{method: http.MethodGet, path: "/admin/backups/:client_name", fn: need(func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
			ms, err := svc.List(r.Context(), ps.ByName("client_name"))
			if err != nil {
				return err
			}
			return writeData(w, http.StatusOK, fmt.Sprintf("%d snapshots", len(ms)), nonNil(ms))
		})},
		{method: http.MethodPost, path: "/admin/backups/:client_name", fn: need(func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
			var body struct {
				Force bool `json:"force"`
			}
			if err := h.decodeAdminBody(w, r, &body); err != nil {
				return err
			}
			res, err := svc.Snapshot(r.Context(), ps.ByName("client_name"), body.Force)
			if err != nil {
				return err
			}
			if !res.Uploaded {
				return writeData(w, http.StatusOK, "unchanged since the newest snapshot; nothing uploaded (send force: true to upload anyway)", res)
			}
			return writeData(w, http.StatusCreated, "snapshot uploaded", res)
		})},
		{method: http.MethodPost, path: "/admin/backups/:client_name/restore", fn: need(func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
			var opts backup.RestoreOptions
			if err := h.decodeAdminBody(w, r, &opts); err != nil {
				return err
			}
			res, err := svc.Restore(r.Context(), ps.ByName("client_name"), opts)
			if err != nil {
				return err
			}
			return writeData(w, http.StatusOK, "snapshot restored", res)
		})},
		{method: http.MethodDelete, path: "/admin/backups/:client_name/:snapshot_id", fn: need(func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
			c, id := ps.ByName("client_name"), ps.ByName("snapshot_id")
			if err := svc.Delete(r.Context(), c, id); err != nil {
				return err
			}
			return writeData(w, http.StatusOK, "snapshot deleted", map[string]any{"client": c, "snapshot_id": id, "deleted": true})
		})},
	}
}

// decodeAdminBody decodes an optional JSON object body into v; unknown
// fields are a 400 naming them.
func (h *Handler) decodeAdminBody(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return core.Wrap(core.CodeInvalidJSON, "the request body is not valid JSON", err)
		}
		return core.Wrap(core.CodeBadRequest, "invalid body: "+err.Error(), err)
	}
	if dec.More() {
		return core.Errorf(core.CodeInvalidJSON, "the request body holds more than one JSON value")
	}
	return nil
}

func nonNil(ms []backup.Manifest) []backup.Manifest {
	if ms == nil {
		return []backup.Manifest{}
	}
	return ms
}
