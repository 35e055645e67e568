package data

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// testSpec describes files served by a test server at base.
func testSpec(base string, contents map[string][]byte) Spec {
	s := Spec{Name: "test", Folder: "test-ds"}
	for _, name := range []string{"a.gz", "b.gz"} {
		s.Files = append(s.Files, File{Name: name, URL: base + "/" + name, MD5: md5Hex(contents[name]), Size: int64(len(contents[name]))})
	}
	return s
}

// listDir returns the names in dir (none if it does not exist).
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestEnsureDownloads(t *testing.T) {
	contents := map[string][]byte{"a.gz": []byte(strings.Repeat("alpha", 1000)), "b.gz": []byte("bravo")}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if got := r.Header.Get("Accept-Encoding"); got != "identity" {
			t.Errorf("Accept-Encoding %q, want identity", got)
		}
		b, ok := contents[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()

	root := t.TempDir()
	spec := testSpec(srv.URL, contents)
	var logged int
	opts := FetchOptions{Client: srv.Client(), Logf: func(string, ...any) { logged++ }}
	if err := Ensure(context.Background(), root, spec, opts); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "test-ds")
	for name, want := range contents {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: %v, content equal %v", name, err, string(got) == string(want))
		}
		info, _ := os.Stat(filepath.Join(dir, name))
		if info != nil && info.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v", name, info.Mode())
		}
	}
	if names := listDir(t, dir); len(names) != 2 {
		t.Errorf("folder holds %v, want just the two files", names)
	}
	if requests.Load() != 2 || logged != 2 {
		t.Errorf("%d requests, %d log lines, want 2", requests.Load(), logged)
	}
	// Present and intact: verified, not fetched again; Load-style Verify agrees.
	if err := Ensure(context.Background(), root, spec, opts); err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 2 {
		t.Errorf("second Ensure made %d more requests", requests.Load()-2)
	}
	if err := Verify(root, spec); err != nil {
		t.Error(err)
	}

	// BaseURL overrides the URL in the spec.
	root2 := t.TempDir()
	spec2 := testSpec("http://127.0.0.1:1/unreachable", contents)
	if err := Ensure(context.Background(), root2, spec2, FetchOptions{Client: srv.Client(), BaseURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureFailuresLeaveNothing(t *testing.T) {
	good := []byte(strings.Repeat("0123456789", 5000))
	mux := http.NewServeMux()
	mux.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) { w.Write(good) })
	mux.HandleFunc("/interrupted", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(good)))
		w.Write(good[:len(good)/3])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) { w.Write(good[:100]) })
	mux.HandleFunc("/long-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Write(good)
		w.(http.Flusher).Flush() // no Content-Length: chunked
		w.Write([]byte("extra"))
	})
	mux.HandleFunc("/missing", http.NotFound)
	block := make(chan struct{})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(good)))
		w.Write(good[:10])
		w.(http.Flusher).Flush()
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(block)

	cases := []struct {
		name    string
		path    string
		md5     string
		size    int64
		cancel  bool
		want    error
		message []string
	}{
		{"wrong checksum", "/good", md5Hex([]byte("something else")), int64(len(good)), false, ErrChecksum, []string{"md5 " + md5Hex(good), "expected " + md5Hex([]byte("something else"))}},
		{"interrupted, size known", "/interrupted", md5Hex(good), int64(len(good)), false, ErrDownload, []string{"interrupted"}},
		{"interrupted, size unknown", "/interrupted", md5Hex(good), 0, false, ErrDownload, []string{"interrupted"}},
		{"short body, size known", "/short", md5Hex(good), int64(len(good)), false, ErrChecksum, []string{"100 bytes"}},
		{"short body, size unknown", "/short", md5Hex(good), 0, false, ErrChecksum, []string{"md5"}},
		{"over-long body", "/long-chunked", md5Hex(good), int64(len(good)), false, ErrChecksum, []string{"expected 50000"}},
		{"HTTP 404", "/missing", md5Hex(good), 0, false, ErrDownload, []string{"404"}},
		{"cancelled", "/hang", md5Hex(good), int64(len(good)), true, context.Canceled, []string{"interrupted"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			spec := Spec{Name: "t", Folder: "ds", Files: []File{{Name: "f.gz", URL: srv.URL + tc.path, MD5: tc.md5, Size: tc.size}}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := FetchOptions{Client: srv.Client()}
			if tc.cancel {
				opts.Client = &http.Client{Transport: cancelAfterHeaders{srv.Client().Transport, cancel}}
			}
			checkErr(t, Ensure(ctx, root, spec, opts), tc.want, tc.message)
			if names := listDir(t, filepath.Join(root, "ds")); len(names) != 0 {
				t.Errorf("left behind: %v", names)
			}
		})
	}
}

// cancelAfterHeaders cancels the request context as soon as the response
// headers arrive, so the body read is interrupted.
type cancelAfterHeaders struct {
	rt     http.RoundTripper
	cancel context.CancelFunc
}

func (c cancelAfterHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	c.cancel()
	return resp, err
}

func checkErr(t *testing.T, err, want error, message []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, want) {
		t.Errorf("error %q does not wrap %v", err, want)
	}
	for _, m := range message {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

func TestEnsureExistingFiles(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write([]byte("fresh"))
	}))
	defer srv.Close()
	good := []byte("good content")
	cases := []struct {
		name     string
		existing []byte
		offline  bool
		want     error
		message  []string
	}{
		{"intact", good, false, nil, nil},
		{"corrupt, same size", []byte("evil content"), false, ErrChecksum, []string{"f.gz", "md5 " + md5Hex([]byte("evil content")), "expected " + md5Hex(good)}},
		{"wrong size", []byte("short"), false, ErrChecksum, []string{"f.gz", "size 5 bytes, expected 12"}},
		{"offline, missing", nil, true, ErrNotFound, []string{"f.gz"}},
		{"offline, intact", good, true, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.existing != nil {
				os.MkdirAll(filepath.Join(root, "ds"), 0o755)
				writeFile(t, filepath.Join(root, "ds"), "f.gz", tc.existing)
			}
			spec := Spec{Name: "t", Folder: "ds", Files: []File{{Name: "f.gz", URL: srv.URL + "/f.gz", MD5: md5Hex(good), Size: int64(len(good))}}}
			before := requests.Load()
			err := Ensure(context.Background(), root, spec, FetchOptions{Client: srv.Client(), Offline: tc.offline})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				checkErr(t, err, tc.want, tc.message)
			}
			if requests.Load() != before {
				t.Errorf("made a request")
			}
			if tc.existing != nil {
				if got, _ := os.ReadFile(filepath.Join(root, "ds", "f.gz")); string(got) != string(tc.existing) {
					t.Errorf("existing file was modified")
				}
			}
		})
	}
}

func TestEnsureBadArguments(t *testing.T) {
	ok := File{Name: "f.gz", URL: "http://x/f.gz", MD5: md5Hex(nil)}
	cases := []struct {
		name string
		root string
		spec Spec
	}{
		{"empty root", "", Spec{Name: "t", Folder: "ds", Files: []File{ok}}},
		{"escaping folder", t.TempDir(), Spec{Name: "t", Folder: "../ds", Files: []File{ok}}},
		{"absolute folder", t.TempDir(), Spec{Name: "t", Folder: "/tmp/ds", Files: []File{ok}}},
		{"no files", t.TempDir(), Spec{Name: "t", Folder: "ds"}},
		{"path in file name", t.TempDir(), Spec{Name: "t", Folder: "ds", Files: []File{{Name: "x/f.gz", MD5: ok.MD5}}}},
		{"no hash", t.TempDir(), Spec{Name: "t", Folder: "ds", Files: []File{{Name: "f.gz"}}}},
		{"bad md5", t.TempDir(), Spec{Name: "t", Folder: "ds", Files: []File{{Name: "f.gz", MD5: "xyz"}}}},
		{"upper-case md5", t.TempDir(), Spec{Name: "t", Folder: "ds", Files: []File{{Name: "f.gz", MD5: strings.ToUpper(md5Hex(nil))}}}},
		{"short sha256", t.TempDir(), Spec{Name: "t", Folder: "ds", Files: []File{{Name: "f.gz", SHA256: md5Hex(nil)}}}},
		{"duplicate", t.TempDir(), Spec{Name: "t", Folder: "ds", Files: []File{ok, ok}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Ensure(context.Background(), tc.root, tc.spec, FetchOptions{Offline: true})
			if !errors.Is(err, ErrArgument) {
				t.Errorf("got %v, want ErrArgument", err)
			}
		})
	}
}

func TestVerifyFileHashes(t *testing.T) {
	content := []byte("hello")
	const sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
	p := writeFile(t, t.TempDir(), "f", content)
	cases := []struct {
		name string
		file File
		want error
	}{
		{"md5", File{MD5: md5Hex(content)}, nil},
		{"sha256", File{SHA256: sha}, nil},
		{"both", File{MD5: md5Hex(content), SHA256: sha, Size: 5}, nil},
		{"wrong sha256", File{MD5: md5Hex(content), SHA256: strings.Repeat("0", 64)}, ErrChecksum},
		{"wrong md5", File{MD5: strings.Repeat("0", 32), SHA256: sha}, ErrChecksum},
		{"wrong size", File{MD5: md5Hex(content), Size: 6}, ErrChecksum},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyFile(p, tc.file)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}
