# Which release rendered a page: the zero-downtime probe counts pages by
# it while two releases share traffic. A deploy of a code change bumps it.
module Shop
  RELEASE = "1"
end
