// Package tfvars sets string values in Terraform variable files without
// disturbing anything else in them.
//
// hclwrite's whole-object replacement drops comments inside the object, and
// its output is reformatted, so edits here splice bytes: hclsyntax gives the
// byte range of the expression to replace, hclwrite renders the new string
// literal, and every other byte of the file is copied through unchanged.
package tfvars
