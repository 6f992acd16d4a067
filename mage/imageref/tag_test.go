package imageref

import "testing"

func TestValidateTag(t *testing.T) {
	for _, good := range []string{"3f2c1e0", "3f2c1e0-dirty-9a8b7c6d", "v1.2.3", "_x", "A"} {
		if err := ValidateTag(good); err != nil {
			t.Errorf("ValidateTag(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"latest", "LATEST", "", ".x", "-x", "a/b", "a:b", "sp ace", string(make([]byte, 129))} {
		if err := ValidateTag(bad); err == nil {
			t.Errorf("ValidateTag(%q) accepted", bad)
		}
	}
}

func TestParseTags(t *testing.T) {
	tags, err := ParseTags(" abc, def ,")
	if err != nil || len(tags) != 2 || tags[0] != "abc" || tags[1] != "def" {
		t.Errorf("ParseTags = %q, %v", tags, err)
	}
	if _, err := ParseTags("abc,latest"); err == nil {
		t.Error("ParseTags accepted latest")
	}
}
