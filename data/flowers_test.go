package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

func TestFlowersSpec(t *testing.T) {
	s := FlowersSpec()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	f := s.Files[0]
	if len(s.Files) != 1 || f.Name != "flower_photos.tgz" ||
		f.URL != "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz" {
		t.Errorf("files %+v", s.Files)
	}
	// /work/shared/data/README.md gives the beginning, PROVENANCE.txt "4c54ace7...d9c".
	if !strings.HasPrefix(f.SHA256, "4c54ace7") || !strings.HasSuffix(f.SHA256, "d9c") || f.Size != 228813984 {
		t.Errorf("sha256 %s, size %d", f.SHA256, f.Size)
	}
	if !slices.Equal(s.ClassNames, []string{"daisy", "dandelion", "roses", "sunflowers", "tulips"}) || !slices.IsSorted(s.ClassNames) {
		t.Errorf("classes %v", s.ClassNames)
	}
	s.ClassNames[0] = "changed"
	if FlowersSpec().ClassNames[0] != "daisy" {
		t.Error("FlowersSpec shares its class names")
	}
}

// flowerServer serves archive at /flower_photos.tgz and counts the requests.
func flowerServer(t *testing.T, archive []byte) (*httptest.Server, *atomic.Int32) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/flower_photos.tgz" {
			http.NotFound(w, r)
			return
		}
		w.Write(archive)
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

// flowersTestSpec is FlowersSpec pointing at a test server, with the checksum of archive.
func flowersTestSpec(url string, archive []byte) Spec {
	s := FlowersSpec()
	sum := sha256.Sum256(archive)
	s.Files[0].URL, s.Files[0].SHA256, s.Files[0].Size = url+"/flower_photos.tgz", hex.EncodeToString(sum[:]), int64(len(archive))
	return s
}

func TestEnsureFlowersDownloadsAndExtracts(t *testing.T) {
	archive := tgzBytes(t, flowerEntries(t))
	srv, requests := flowerServer(t, archive)
	spec := flowersTestSpec(srv.URL, archive)
	root := t.TempDir()
	var logs []string
	opts := FetchOptions{Client: srv.Client(), Logf: func(f string, a ...any) { logs = append(logs, f) }}
	dir, err := ensureExtracted(context.Background(), root, spec, FlowersFolder, opts, ExtractLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(root, "flower_photos") || requests.Load() != 1 || len(logs) != 2 {
		t.Errorf("dir %s, %d requests, logs %v", dir, requests.Load(), logs)
	}
	want := []string{"flower_photos.tgz", "flower_photos/", "flower_photos/LICENSE.txt"}
	for _, c := range FlowersClassNames() {
		want = append(want, "flower_photos/"+c+"/", "flower_photos/"+c+"/a.jpg", "flower_photos/"+c+"/b.jpg")
	}
	slices.Sort(want)
	if got := tree(t, root); !slices.Equal(got, want) {
		t.Errorf("tree %v, want %v", got, want)
	}
	m, err := LoadFlowers(root, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 10 || !slices.Equal(m.ClassCounts(), []int{2, 2, 2, 2, 2}) || m.Photos[9].H != 10 || m.Photos[9].W != 10 {
		t.Errorf("%d photos, counts %v, last %d×%d", m.Len(), m.ClassCounts(), m.Photos[9].H, m.Photos[9].W)
	}
	// Present: neither downloaded nor extracted again, even offline.
	opts.Offline = true
	if _, err := ensureExtracted(context.Background(), root, spec, FlowersFolder, opts, ExtractLimits{}); err != nil || requests.Load() != 1 {
		t.Errorf("second call: %v, %d requests", err, requests.Load())
	}
}

func TestEnsureFlowersFailuresLeaveNothing(t *testing.T) {
	good := tgzBytes(t, flowerEntries(t))
	traversal := tgzBytes(t, append(flowerEntries(t), tarEntry{name: "flower_photos/../../evil.jpg", body: []byte("x")}))
	noTulips := tgzBytes(t, slices.DeleteFunc(flowerEntries(t), func(e tarEntry) bool { return strings.Contains(e.name, "tulips") }))
	cases := []struct {
		name    string
		serve   []byte
		spec    []byte // the archive whose checksum the spec records
		want    error
		mention string
		left    []string
	}{
		{"wrong checksum", good, []byte("another archive"), ErrChecksum, "flower_photos.tgz", nil},
		// The archive matches its checksum, so it is kept; nothing is extracted.
		{"path traversal", traversal, traversal, ErrFormat, "..", []string{"flower_photos.tgz"}},
		{"missing class", noTulips, noTulips, ErrFormat, "tulips", []string{"flower_photos.tgz"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := flowerServer(t, tc.serve)
			spec := flowersTestSpec(srv.URL, tc.spec)
			if tc.name == "wrong checksum" {
				spec.Files[0].Size = 0 // let the download run to the end, so the hash is what fails
			}
			root := t.TempDir()
			_, err := ensureExtracted(context.Background(), root, spec, FlowersFolder, FetchOptions{Client: srv.Client()}, ExtractLimits{})
			checkErr(t, err, tc.want, []string{tc.mention})
			if got := tree(t, root); !slices.Equal(got, tc.left) {
				t.Errorf("left behind %v, want %v", got, tc.left)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(root), "evil.jpg")); err == nil {
				t.Error("evil.jpg was written outside the data root")
			}
		})
	}
}

func TestEnsureFlowersRefusals(t *testing.T) {
	root := t.TempDir()
	_, err := EnsureFlowers(context.Background(), root, FetchOptions{Offline: true})
	checkErr(t, err, ErrNotFound, []string{"flower_photos"})
	if got := tree(t, root); len(got) != 0 {
		t.Errorf("offline call created %v", got)
	}
	if _, err := EnsureFlowers(context.Background(), "", FetchOptions{}); !errors.Is(err, ErrArgument) {
		t.Errorf("empty root: %v", err)
	}
	// An existing folder without the class folders is not silently replaced.
	writeTree(t, root, map[string][]byte{"flower_photos/daisy/a.jpg": nil})
	_, err = EnsureFlowers(context.Background(), root, FetchOptions{Offline: true})
	checkErr(t, err, ErrFormat, []string{"dandelion"})
	// A download that fails is ErrDownload.
	srv, _ := flowerServer(t, nil)
	spec := flowersTestSpec(srv.URL+"/nothing-here", []byte("x"))
	_, err = ensureExtracted(context.Background(), t.TempDir(), spec, FlowersFolder, FetchOptions{Client: srv.Client()}, ExtractLimits{})
	checkErr(t, err, ErrDownload, []string{"404"})
	// ScanFlowers insists on the five classes.
	other := writeTree(t, t.TempDir(), map[string][]byte{"flower_photos/daisy/a.jpg": nil, "flower_photos/weeds/b.jpg": nil})
	_, err = ScanFlowers(other)
	checkErr(t, err, ErrFormat, []string{"weeds"})
	_, err = LoadFlowers(t.TempDir(), LoadOptions{})
	checkErr(t, err, ErrNotFound, []string{"EnsureFlowers"})
}
