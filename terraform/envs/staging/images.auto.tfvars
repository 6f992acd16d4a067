# Image tags deployed to staging. `mage deploy -env=staging` rewrites the values
# below and nothing else in this file; review them in the pull request.
image_tags = {
  # unicorn, sidekiq and the migrate task run this image
  app   = "0000000"
  nginx = "0000000" # precompiled assets
}
