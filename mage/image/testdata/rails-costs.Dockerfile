# The benchmark's Rails stand-in: the stages of docker/Dockerfile with a
# mid-size app's costs, simulated by the fixture's own steps: bundle
# install (gems-seconds) and assets:precompile (precompile-seconds), the
# assets stage reading only the asset inputs (named context assets-src).
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
WORKDIR /rails

FROM base AS gems
COPY Gemfile Gemfile.lock gems-seconds ./
RUN sleep "$(cat gems-seconds)" && mkdir -p /usr/local/bundle && cp Gemfile.lock /usr/local/bundle/installed

FROM gems AS assets
COPY --from=assets-src . .
RUN sleep "$(cat precompile-seconds)" && mkdir -p public/assets && cat app/assets/*.css > public/assets/application.css

FROM gems AS app
COPY . .
COPY --from=assets /rails/public/assets /rails/public/assets
CMD ["/bin/sh", "-c", "echo unicorn"]

FROM base AS nginx
COPY --from=assets /rails/public/assets /usr/share/nginx/html/assets
CMD ["/bin/sh", "-c", "ls /usr/share/nginx/html/assets"]
