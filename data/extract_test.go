package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tarEntry is one entry of a synthetic archive; typ 0 means a regular file (a folder when the name
// ends with "/").
type tarEntry struct {
	name string
	body []byte
	typ  byte
	link string
}

// tgzBytes builds a gzip-compressed tar archive.
func tgzBytes(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.body)), Typeflag: e.typ, Linkname: e.link}
		switch {
		case e.typ == 0 && strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o700
		case e.typ == 0:
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			h = &tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": e.name}}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// flowerEntries is a miniature flower_photos.tgz: the layout of the real one, two tiny JPEGs per class.
func flowerEntries(t testing.TB) []tarEntry {
	es := []tarEntry{{name: "flower_photos/"}, {name: "flower_photos/LICENSE.txt", body: []byte("CC-BY 2.0 credits")}}
	for i, c := range FlowersClassNames() {
		es = append(es, tarEntry{name: "flower_photos/" + c + "/"})
		for j := range 2 {
			img := testPhoto(6+i, 9+j, uint64(10*i+j))
			es = append(es, tarEntry{name: "flower_photos/" + c + "/" + string(rune('a'+j)) + ".jpg", body: jpegBytes(t, photoImage(img))})
		}
	}
	return es
}

// tree returns every path under dir, slash-separated, folders with a trailing slash.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestExtractTarGz(t *testing.T) {
	root := t.TempDir()
	archive := writeFile(t, root, "a.tgz", tgzBytes(t, []tarEntry{
		{name: "./top/"},
		{name: "top/x/1.txt", body: []byte("one")},
		{name: "top/y/deep/2.txt", body: []byte("two")}, // parent folders not listed
		{name: "top/empty.txt"},
		{name: "top/x/"}, // a folder listed after its files
		{name: "pax", typ: tar.TypeXGlobalHeader},
	}))
	if err := ExtractTarGz(context.Background(), archive, root, "top", ExtractLimits{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a.tgz", "top/", "top/empty.txt", "top/x/", "top/x/1.txt", "top/y/", "top/y/deep/", "top/y/deep/2.txt"}
	if got := tree(t, root); !slices.Equal(got, want) {
		t.Errorf("tree %v, want %v", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(root, "top", "y", "deep", "2.txt")); err != nil || string(b) != "two" {
		t.Errorf("2.txt: %q, %v", b, err)
	}
	info, _ := os.Stat(filepath.Join(root, "top", "x", "1.txt"))
	if info == nil || info.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v", info.Mode())
	}
	// The destination exists now: a second extraction refuses to touch it.
	err := ExtractTarGz(context.Background(), archive, root, "top", ExtractLimits{})
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("second extraction: %v", err)
	}
}

func TestExtractTarGzRejects(t *testing.T) {
	body := []byte("0123456789")
	cases := []struct {
		name    string
		entries []tarEntry
		lim     ExtractLimits
		mention string
	}{
		{"parent traversal", []tarEntry{{name: "top/"}, {name: "../evil.txt", body: body}}, ExtractLimits{}, ".."},
		{"inner traversal", []tarEntry{{name: "top/../../evil.txt", body: body}}, ExtractLimits{}, ".."},
		{"harmless-looking dotdot", []tarEntry{{name: "top/a/../b.txt", body: body}}, ExtractLimits{}, ".."},
		{"absolute", []tarEntry{{name: "/tmp/evil.txt", body: body}}, ExtractLimits{}, "absolute"},
		{"outside top", []tarEntry{{name: "top/a.txt", body: body}, {name: "other/b.txt", body: body}}, ExtractLimits{}, "outside top/"},
		{"symlink", []tarEntry{{name: "top/link", typ: tar.TypeSymlink, link: "/etc/passwd"}}, ExtractLimits{}, "not a folder or a regular file"},
		{"hard link", []tarEntry{{name: "top/a.txt", body: body}, {name: "top/b.txt", typ: tar.TypeLink, link: "top/a.txt"}}, ExtractLimits{}, "not a folder or a regular file"},
		{"duplicate", []tarEntry{{name: "top/a.txt", body: body}, {name: "top/a.txt", body: body}}, ExtractLimits{}, "duplicate"},
		{"file too big", []tarEntry{{name: "top/a.txt", body: body}}, ExtractLimits{MaxFileBytes: 9}, "bytes"},
		{"total too big", []tarEntry{{name: "top/a.txt", body: body}, {name: "top/b.txt", body: body}}, ExtractLimits{MaxTotalBytes: 15}, "in all"},
		{"too many entries", []tarEntry{{name: "top/"}, {name: "top/a.txt"}, {name: "top/b.txt"}}, ExtractLimits{MaxEntries: 2}, "entries"},
		{"no top folder", []tarEntry{{name: "top", body: body}}, ExtractLimits{}, "no top/ folder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			archive := writeFile(t, root, "a.tgz", tgzBytes(t, tc.entries))
			err := ExtractTarGz(context.Background(), archive, root, "top", tc.lim)
			checkErr(t, err, ErrFormat, []string{tc.mention, "a.tgz"})
			if got := tree(t, root); !slices.Equal(got, []string{"a.tgz"}) {
				t.Errorf("left behind: %v", got)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(root), "evil.txt")); err == nil {
				t.Error("a file was written outside the data root")
			}
		})
	}
}

func TestExtractTarGzCorrupt(t *testing.T) {
	good := tgzBytes(t, []tarEntry{{name: "top/a.txt", body: bytes.Repeat([]byte("flowers "), 5000)}})
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"not gzip", []byte("plain text"), ErrFormat},
		{"truncated", good[:len(good)/2], ErrFormat},
		{"gzip of garbage", gzipBytes(t, bytes.Repeat([]byte{0xff}, 2048)), ErrFormat},
	}
	for _, tc := range cases {
		root := t.TempDir()
		archive := writeFile(t, root, "a.tgz", tc.b)
		err := ExtractTarGz(context.Background(), archive, root, "top", ExtractLimits{})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if got := tree(t, root); !slices.Equal(got, []string{"a.tgz"}) {
			t.Errorf("%s: left behind %v", tc.name, got)
		}
	}
	root := t.TempDir()
	if err := ExtractTarGz(context.Background(), filepath.Join(root, "missing.tgz"), root, "top", ExtractLimits{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing archive: %v", err)
	}
	for _, top := range []string{"", ".", "..", "a/b"} {
		if err := ExtractTarGz(context.Background(), filepath.Join(root, "missing.tgz"), root, top, ExtractLimits{}); !errors.Is(err, ErrArgument) {
			t.Errorf("top %q: %v", top, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	archive := writeFile(t, root, "a.tgz", good)
	if err := ExtractTarGz(ctx, archive, root, "top", ExtractLimits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if got := tree(t, root); !slices.Equal(got, []string{"a.tgz"}) {
		t.Errorf("cancelled: left behind %v", got)
	}
}
