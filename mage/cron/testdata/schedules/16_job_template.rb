set :job_template, "bash -l -c 'source ~/.profile && :job'"
set :path, "/srv/shop/current"
set :environment, :staging

every 6.hours do
  runner "Search.reindex"
  rake "assets:clean"
end
