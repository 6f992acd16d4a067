ActiveRecord::Schema[8.0].define(version: 2026_11_01_000000) do
  create_table "orders", force: :cascade do |t|
    t.integer "total_cents", null: false
    t.datetime "created_at", null: false
    t.datetime "updated_at", null: false
  end
end
