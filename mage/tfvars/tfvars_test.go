package tfvars

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetGolden(t *testing.T) {
	tests := []struct {
		name, src, path, value, want string
		added                        bool
	}{
		{
			name: "key inside object keeps comments inside it",
			src: `# Image tags, rewritten by mage deploy.
image_tags = {
  # unicorn, sidekiq and the migrate task share this image
  app   = "3f2c1e0" # built from main
  nginx = "3f2c1e0" /* assets */
}

desired_count = 2
`,
			path: "image_tags.app", value: "9a8b7c6",
			want: `# Image tags, rewritten by mage deploy.
image_tags = {
  # unicorn, sidekiq and the migrate task share this image
  app   = "9a8b7c6" # built from main
  nginx = "3f2c1e0" /* assets */
}

desired_count = 2
`,
		},
		{
			name: "quoted key in path and in file",
			src: `image_tags = {
  "web-app" = "old"
  sidekiq   = "old"
}
`,
			path: `image_tags."web-app"`, value: "new",
			want: `image_tags = {
  "web-app" = "new"
  sidekiq   = "old"
}
`,
		},
		{
			name: "unquoted path matches quoted key",
			src:  "tags = {\n  \"app\" = \"a\"\n}\n",
			path: "tags.app", value: "b",
			want: "tags = {\n  \"app\" = \"b\"\n}\n",
		},
		{
			name: "top-level attribute, odd layout untouched",
			src:  "app_image_tag    =   \"old\"   // keep me\nother=1\n\n\n",
			path: "app_image_tag", value: "new",
			want: "app_image_tag    =   \"new\"   // keep me\nother=1\n\n\n",
		},
		{
			name: "missing key is added aligned, before the closing brace",
			src: `image_tags = {
  app = "a" # app
  # trailing comment in the object
}
`,
			path: "image_tags.nginx", value: "n",
			want: `image_tags = {
  app = "a" # app
  # trailing comment in the object
  nginx = "n"
}
`,
		},
		{
			name: "shorter missing key aligns its equals sign",
			src:  "image_tags = {\n  nginx = \"n\"\n}\n",
			path: "image_tags.app", value: "a",
			want:  "image_tags = {\n  nginx = \"n\"\n  app   = \"a\"\n}\n",
			added: true,
		},
		{
			name: "missing attribute appended",
			src:  "region = \"ap-northeast-1\"",
			path: "app_image_tag", value: "abc",
			want:  "region = \"ap-northeast-1\"\napp_image_tag = \"abc\"\n",
			added: true,
		},
		{
			name: "missing object attribute appended",
			src:  "region = \"ap-northeast-1\"\n",
			path: "image_tags.app", value: "abc",
			want:  "region = \"ap-northeast-1\"\nimage_tags = {\n  app = \"abc\"\n}\n",
			added: true,
		},
		{
			name: "one-line object",
			src:  "image_tags = { app = \"a\" } # one line\n",
			path: "image_tags.nginx", value: "n",
			want:  "image_tags = { app = \"a\", nginx = \"n\" } # one line\n",
			added: true,
		},
		{
			name: "one-line object with trailing comma",
			src:  "image_tags = { app = \"a\", }\n",
			path: "image_tags.nginx", value: "n",
			want:  "image_tags = { app = \"a\", nginx = \"n\", }\n",
			added: true,
		},
		{
			name: "empty object",
			src:  "image_tags = {}\n",
			path: "image_tags.app", value: "a",
			want:  "image_tags = { app = \"a\" }\n",
			added: true,
		},
		{
			name: "closing brace on the last item's line",
			src:  "image_tags = {\n  app = \"a\" }\n",
			path: "image_tags.nginx", value: "n",
			want:  "image_tags = {\n  app = \"a\"\n  nginx = \"n\" }\n",
			added: true,
		},
		{
			name: "template characters are escaped",
			src:  "tag = \"x\"\n",
			path: "tag", value: "${evil}%{x}\"q\"",
			want: "tag = \"$${evil}%%{x}\\\"q\\\"\"\n",
		},
		{
			name: "non-literal value replaced",
			src:  "tag = var.something # was a reference\n",
			path: "tag", value: "abc",
			want: "tag = \"abc\" # was a reference\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, change, err := Set([]byte(tc.src), "images.auto.tfvars", p, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("output differs\n--- got\n%s\n--- want\n%s", got, tc.want)
			}
			if tc.added && !change.Added {
				t.Errorf("change.Added = false, want true")
			}
			v, ok, err := Get(got, "out.tfvars", p)
			if err != nil || !ok || v != tc.value {
				t.Errorf("Get after Set = %q, %v, %v; want %q", v, ok, err, tc.value)
			}
			lines := strings.Split(string(got), "\n")
			if change.Line < 1 || !strings.Contains(lines[change.Line-1], quote(tc.value)) {
				t.Errorf("change.Line = %d does not hold the new value in:\n%s", change.Line, got)
			}
		})
	}
}

func TestChangeString(t *testing.T) {
	p, _ := ParsePath("image_tags.app")
	_, c, err := Set([]byte("image_tags = {\n  app = \"old\"\n}\n"), "f", p, "new")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), `image_tags.app: "old" -> "new"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	_, c, _ = Set([]byte("image_tags = {\n  app = \"new\"\n}\n"), "f", p, "new")
	if c.Changed() {
		t.Errorf("setting the same value reported a change: %v", c)
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct{ name, src, path, wantErr string }{
		{"parse error names file line and column", "image_tags = {\n  app = \"a\"\n", "image_tags.app", "images.auto.tfvars:3:1: Missing expression"},
		{"not an object", "image_tags = \"abc\"\n", "image_tags.app", "images.auto.tfvars:1:14: image_tags is not an object literal"},
		{"duplicate key", "t = {\n  app = \"a\"\n  \"app\" = \"b\"\n}\n", "t.app", "images.auto.tfvars:3:3: key \"app\" appears twice"},
		{"block in tfvars", "image_tags = {}\nmodule \"x\" {}\n", "image_tags.app", "images.auto.tfvars:2:1: a tfvars file holds only attributes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Set([]byte(tc.src), "images.auto.tfvars", p, "v")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	good := map[string]Path{
		"app_image_tag":          {Name: "app_image_tag"},
		"image_tags.app":         {Name: "image_tags", Key: "app"},
		`image_tags."web-app"`:   {Name: "image_tags", Key: "web-app"},
		`image_tags."a.b"`:       {Name: "image_tags", Key: "a.b"},
		`image_tags."with-dash"`: {Name: "image_tags", Key: "with-dash"},
	}
	for in, want := range good {
		got, err := ParsePath(in)
		if err != nil || got != want {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1abc", "a.", `a."x`, `a.""`, "a b", "a.b c"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) accepted a bad path", bad)
		}
	}
}

func TestSetFileAtomicAndUntouchedOnError(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "images.auto.tfvars")
	if err := os.WriteFile(good, []byte("image_tags = {\n  app = \"a\" # c\n}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	p, _ := ParsePath("image_tags.app")
	if _, err := SetFile(good, p, "b"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(good)
	if string(got) != "image_tags = {\n  app = \"b\" # c\n}\n" {
		t.Fatalf("file = %q", got)
	}
	if info, _ := os.Stat(good); info.Mode().Perm() != 0o640 {
		t.Fatalf("mode changed to %v", info.Mode().Perm())
	}

	bad := filepath.Join(dir, "broken.tfvars")
	broken := []byte("image_tags = {\n  app = \"a\"\n  nginx = \n}\n")
	if err := os.WriteFile(bad, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := SetFile(bad, p, "b")
	if err == nil || !strings.Contains(err.Error(), bad+":3:") {
		t.Fatalf("error = %v, want the file and line 3 named", err)
	}
	after, _ := os.ReadFile(bad)
	if string(after) != string(broken) {
		t.Fatalf("broken file was modified: %q", after)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

func TestJSONTfvarsRefusedByName(t *testing.T) {
	p, _ := ParsePath("image_tags.app")
	_, _, err := Set([]byte(`{"image_tags":{"app":"x"}}`), "terraform/envs/staging/images.auto.tfvars.json", p, "y")
	if err == nil || !strings.Contains(err.Error(), "images.auto.tfvars.json: JSON tfvars are not supported") {
		t.Errorf("JSON tfvars: %v", err)
	}
}
