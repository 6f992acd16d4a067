# Image tags deployed to staging. `mage deploy` rewrites the values below
# and nothing else in this file; a placeholder until the first deploy.
image_tags = {
  app   = "0000000" # puma, sidekiq and the migrate task run this image
  nginx = "0000000" # nginx with the precompiled assets
}
