# Image tags deployed to the sandbox. `mage deploy` rewrites the values
# below and nothing else in this file.
image_tags = {
  # unicorn, sidekiq and the migrate task run this image
  app   = "0000000"
  nginx = "0000000" # precompiled assets
}
