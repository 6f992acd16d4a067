# unicorn for the web task: nginx in the same task proxies to 8080.
worker_processes Integer(ENV.fetch("WEB_CONCURRENCY", 2))
listen 8080
timeout 30
preload_app true

before_fork do |_server, _worker|
  ActiveRecord::Base.connection_pool.disconnect! if defined?(ActiveRecord::Base)
end

after_fork do |_server, _worker|
  ActiveRecord::Base.establish_connection if defined?(ActiveRecord::Base)
end
