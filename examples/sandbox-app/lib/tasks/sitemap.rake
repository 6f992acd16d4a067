namespace :sitemap do
  desc "Rebuild the sitemap"
  task refresh: :environment do
    puts "sitemap:refresh: #{Order.count} orders listed"
  end
end
