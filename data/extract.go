package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ExtractLimits bound what ExtractTarGz accepts from an archive, against corrupt or hostile ones. A zero
// field takes its default.
type ExtractLimits struct {
	MaxEntries    int   // tar entries (files and folders); default 100,000
	MaxFileBytes  int64 // bytes of one file; default 256 MiB
	MaxTotalBytes int64 // bytes of all files together; default 4 GiB
}

func (l ExtractLimits) withDefaults() ExtractLimits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = 100_000
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 256 << 20
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 4 << 30
	}
	return l
}

// ExtractTarGz extracts the gzip-compressed tar archive into root/top, atomically: every entry must lie
// inside the folder top (a plain name, e.g. "flower_photos"); the entries are written into a fresh
// temporary folder under root and synced, and only a complete extraction is renamed to root/top, so a
// failure leaves nothing behind. root/top must not exist yet (an error wrapping fs.ErrExist).
//
// Only folders and regular files are accepted, with names that stay inside top: an absolute name, a ".."
// element, a link, a device, a duplicate file or an entry outside top is an ErrFormat error, and so is
// an archive beyond the limits or a corrupt one. Files are written with mode 0644 and folders 0755,
// whatever the archive says.
func ExtractTarGz(ctx context.Context, archive, root, top string, lim ExtractLimits) (err error) {
	if top == "" || top == "." || top == ".." || strings.ContainsAny(top, `/\`) {
		return fmt.Errorf("data: extract %s: folder %q must be a plain name: %w", archive, top, ErrArgument)
	}
	lim = lim.withDefaults()
	dest := filepath.Join(root, top)
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("data: extract %s: %s: %w", archive, dest, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data: extract %s: %w", archive, err)
	}
	f, err := os.Open(archive)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data: extract %s: %w: %w", archive, ErrNotFound, err)
		}
		return fmt.Errorf("data: extract %s: %w", archive, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("data: extract %s: %w: %w", archive, ErrFormat, err)
	}
	defer zr.Close()

	tmp, err := os.MkdirTemp(root, "."+top+".extract-*")
	if err != nil {
		return fmt.Errorf("data: extract %s: %w", archive, err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("data: extract %s: clean up: %w", archive, rmErr)
		}
	}()
	if err := untar(ctx, tar.NewReader(zr), tmp, top, lim); err != nil {
		return fmt.Errorf("data: extract %s: %w", archive, err)
	}
	if info, err := os.Stat(filepath.Join(tmp, top)); err != nil || !info.IsDir() {
		return fmt.Errorf("data: extract %s: the archive holds no %s/ folder: %w", archive, top, ErrFormat)
	}
	syncDir(filepath.Join(tmp, top))
	if err := os.Rename(filepath.Join(tmp, top), dest); err != nil {
		return fmt.Errorf("data: extract %s: %w", archive, err)
	}
	syncDir(root)
	return nil
}

// entryPath checks a tar entry name and returns it relative to the extraction folder (slash-separated,
// cleaned), or an error.
func entryPath(name, top string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, `\`) {
		return "", fmt.Errorf("entry %q: absolute or unusual name: %w", name, ErrFormat)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "", fmt.Errorf("entry %q: \"..\" in name: %w", name, ErrFormat)
		}
	}
	n = path.Clean(n)
	if !filepath.IsLocal(filepath.FromSlash(n)) || (n != top && !strings.HasPrefix(n, top+"/")) {
		return "", fmt.Errorf("entry %q: outside %s/: %w", name, top, ErrFormat)
	}
	return n, nil
}

// untar writes the entries of tr under dir.
func untar(ctx context.Context, tr *tar.Reader, dir, top string, lim ExtractLimits) error {
	var entries int
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // PAX global metadata, no file
		}
		if entries++; entries > lim.MaxEntries {
			return fmt.Errorf("more than %d entries: %w", lim.MaxEntries, ErrFormat)
		}
		rel, err := entryPath(h.Name, top)
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if h.Size < 0 || h.Size > lim.MaxFileBytes {
				return fmt.Errorf("entry %q: %d bytes, more than the %d allowed: %w", h.Name, h.Size, lim.MaxFileBytes, ErrFormat)
			}
			if total += h.Size; total > lim.MaxTotalBytes {
				return fmt.Errorf("more than %d bytes in all: %w", lim.MaxTotalBytes, ErrFormat)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := writeEntry(target, tr, h.Size); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
		default:
			return fmt.Errorf("entry %q: type %q is not a folder or a regular file: %w", h.Name, h.Typeflag, ErrFormat)
		}
	}
}

// writeEntry creates target (which must not exist) with exactly size bytes from r, synced.
func writeEntry(target string, r io.Reader, size int64) (err error) {
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("duplicate entry: %w", ErrFormat)
		}
		return err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	src := &readTracker{r: r}
	if _, err := io.CopyN(out, src, size); err != nil {
		if src.err == nil {
			return err // writing failed
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("truncated: %w: %w", ErrFormat, err)
		}
		return fmt.Errorf("%w: %w", ErrFormat, err) // a gzip or tar error while reading
	}
	return out.Sync()
}

// readTracker remembers the error its reader returned, telling read failures from write failures.
type readTracker struct {
	r   io.Reader
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil {
		t.err = err
	}
	return n, err
}
