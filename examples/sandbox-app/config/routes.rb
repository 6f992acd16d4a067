Rails.application.routes.draw do
  root "orders#index"
  resources :orders, only: %i[index create]
  # The load balancer's health check (rails_health_path in the module):
  # Rails 6.1 has no built-in /up.
  get "up" => "health#show"
  get "slow" => "health#slow"
end
