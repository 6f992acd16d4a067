# Image tags deployed to sandbox. `mage deploy` rewrites the values below
# and nothing else in this file; a placeholder until the first deploy.
image_tags = {
  app = "0000000" # puma, jobs and the migrate task run this image
}
