package data

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
)

// FetchOptions controls Ensure. The zero value downloads from the official
// URLs with http.DefaultClient.
type FetchOptions struct {
	// Client performs the downloads; nil means http.DefaultClient.
	Client *http.Client
	// BaseURL, if set, replaces the official location: file f is fetched from
	// BaseURL + "/" + f.Name (a mirror, or an httptest server in tests).
	BaseURL string
	// Offline forbids downloading: a missing file is an ErrNotFound error.
	Offline bool
	// Logf, if set, receives one line per download.
	Logf func(format string, args ...any)
}

// Ensure makes sure every file of ds is present and intact under
// root/<ds.Folder>. Missing files are downloaded (unless opts.Offline), written
// to a temporary file in the same folder, checked for size and hash, synced,
// and only then renamed into place, so an interrupted or corrupt download
// leaves nothing behind. Files already present are verified as well; a wrong
// size or hash is an ErrChecksum error naming the file with the expected and
// actual values (the file is left alone: delete it to download it again).
func Ensure(ctx context.Context, root string, ds Spec, opts FetchOptions) error {
	if root == "" {
		return fmt.Errorf("data: ensure %q: empty data root: %w", ds.Name, ErrArgument)
	}
	if err := ds.Validate(); err != nil {
		return err
	}
	dir := filepath.Join(root, ds.Folder)
	for _, f := range ds.Files {
		path := filepath.Join(dir, f.Name)
		err := VerifyFile(path, f)
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrNotFound) || opts.Offline {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("data: ensure %q: %w", ds.Name, err)
		}
		if err := download(ctx, dir, f, opts); err != nil {
			return err
		}
	}
	return nil
}

// Verify checks that every file of ds exists under root/<ds.Folder> with the
// expected size and hashes. It never writes.
func Verify(root string, ds Spec) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	dir := filepath.Join(root, ds.Folder)
	for _, f := range ds.Files {
		if err := VerifyFile(filepath.Join(dir, f.Name), f); err != nil {
			return err
		}
	}
	return nil
}

// VerifyFile checks the file at path against f's size and hashes. A missing
// file gives an error wrapping both ErrNotFound and fs.ErrNotExist; a mismatch
// gives ErrChecksum with the expected and actual values.
func VerifyFile(path string, f File) error {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data: %s: %w: %w", path, ErrNotFound, err)
		}
		return fmt.Errorf("data: verify %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("data: %s: not a regular file: %w", path, ErrFormat)
	}
	if f.Size > 0 && info.Size() != f.Size {
		return fmt.Errorf("data: %s: %w: size %d bytes, expected %d", path, ErrChecksum, info.Size(), f.Size)
	}
	r, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: verify %s: %w", path, err)
	}
	defer r.Close()
	h := newHasher(f)
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("data: verify %s: %w", path, err)
	}
	if err := h.check(f); err != nil {
		return fmt.Errorf("data: %s: %w", path, err)
	}
	return nil
}

// hasher computes the hashes a File declares.
type hasher struct {
	md5, sha hash.Hash
	w        io.Writer
}

func newHasher(f File) *hasher {
	h := &hasher{}
	var ws []io.Writer
	if f.MD5 != "" {
		h.md5 = md5.New()
		ws = append(ws, h.md5)
	}
	if f.SHA256 != "" {
		h.sha = sha256.New()
		ws = append(ws, h.sha)
	}
	h.w = io.MultiWriter(ws...)
	return h
}

func (h *hasher) Write(p []byte) (int, error) { return h.w.Write(p) }

// check compares the sums with f; the error wraps ErrChecksum.
func (h *hasher) check(f File) error {
	if h.md5 != nil {
		if got := hex.EncodeToString(h.md5.Sum(nil)); got != f.MD5 {
			return fmt.Errorf("%w: md5 %s, expected %s", ErrChecksum, got, f.MD5)
		}
	}
	if h.sha != nil {
		if got := hex.EncodeToString(h.sha.Sum(nil)); got != f.SHA256 {
			return fmt.Errorf("%w: sha256 %s, expected %s", ErrChecksum, got, f.SHA256)
		}
	}
	return nil
}

// download fetches f into dir atomically.
func download(ctx context.Context, dir string, f File, opts FetchOptions) (err error) {
	src := f.URL
	if opts.BaseURL != "" {
		src, err = url.JoinPath(opts.BaseURL, f.Name)
		if err != nil {
			return fmt.Errorf("data: download %s: base URL %q: %w: %w", f.Name, opts.BaseURL, ErrArgument, err)
		}
	}
	if src == "" {
		return fmt.Errorf("data: download %s: no URL: %w", f.Name, ErrArgument)
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	if opts.Logf != nil {
		opts.Logf("data: downloading %s from %s", f.Name, src)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return fmt.Errorf("data: download %s: %w: %w", src, ErrArgument, err)
	}
	// The files are already compressed; ask for the bytes as stored so the
	// transport never decompresses them behind our back.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("data: download %s: %w: %w", src, ErrDownload, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("data: download %s: %w: HTTP %s", src, ErrDownload, resp.Status)
	}
	if f.Size > 0 && resp.ContentLength >= 0 && resp.ContentLength != f.Size {
		return fmt.Errorf("data: download %s: %w: server announces %d bytes, expected %d", src, ErrChecksum, resp.ContentLength, f.Size)
	}

	tmp, err := os.CreateTemp(dir, "."+f.Name+".*.part")
	if err != nil {
		return fmt.Errorf("data: download %s: %w", f.Name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var body io.Reader = resp.Body
	if f.Size > 0 {
		body = io.LimitReader(resp.Body, f.Size+1) // one extra byte detects an over-long body
	}
	h := newHasher(f)
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if err != nil {
		return fmt.Errorf("data: download %s: %w: interrupted after %d bytes: %w", src, ErrDownload, n, err)
	}
	if f.Size > 0 && n != f.Size {
		return fmt.Errorf("data: download %s: %w: got %d bytes, expected %d", src, ErrChecksum, n, f.Size)
	}
	if err = h.check(f); err != nil {
		return fmt.Errorf("data: download %s: %w", src, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("data: download %s: %w", f.Name, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("data: download %s: sync: %w", f.Name, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("data: download %s: close: %w", f.Name, err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, f.Name)); err != nil {
		return fmt.Errorf("data: download %s: %w", f.Name, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes the rename durable where the platform allows it; failure only
// costs durability across a crash, not correctness, so it is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
